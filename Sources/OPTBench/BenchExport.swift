import Foundation
import OPTSupport

/// Writes a bench split as metaseq-style JSONL (`{"src", "tgt"}` a line; evaluation splits add
/// `candidates`, `gold`, `task`, `id` and `level`) for training or evaluating on existing engines.
public enum BenchExport {
    /// Formats every instance of `split` (of the tasks at `levels`, for evaluation splits) and writes
    /// them to `file` atomically. Returns the number of lines written.
    @discardableResult
    public static func metaseq(bench directory: URL, split: InstanceSplit, levels: Set<Int>? = nil,
                               formatter: PromptFormatter, to file: URL) throws -> Int {
        let manifest = try BenchStore.manifest(directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = 0
        do {
            try AtomicFile.write(to: file) { handle in
                for record in manifest.tasks {
                    let level = record.role == .train ? 3 : record.level
                    if split != .train, let levels, !levels.contains(level ?? 0) { continue }
                    guard (record.instances[split.rawValue] ?? 0) > 0 else { continue }
                    let (task, _) = try BenchStore.task(record.id, in: directory, manifest: manifest)
                    var buffer = Data()
                    for instance in task.instances where instance.split == split {
                        let example = formatter.format(instance, of: task)
                        if split == .train {
                            buffer.append(try encoder.encode(["src": example.src, "tgt": example.tgt]))
                        } else {
                            buffer.append(try encoder.encode(EvalLine(src: example.src, tgt: example.tgt, references: example.references,
                                                                      candidates: example.candidates, gold: example.gold,
                                                                      task: task.id, id: instance.id, level: level)))
                        }
                        buffer.append(0x0A)
                        lines += 1
                    }
                    try handle.write(contentsOf: buffer)
                }
            }
        } catch let error as BenchError {
            throw error
        } catch let error as AtomicFileError {
            throw BenchError.unwritable(path: file.path, reason: error.reason)
        } catch {
            throw BenchError.unwritable(path: file.path, reason: FileProblem.reason(error))
        }
        return lines
    }

    private struct EvalLine: Encodable {
        var src: String
        var tgt: String
        var references: [String]
        var candidates: [String]?
        var gold: Int?
        var task: String
        var id: String
        var level: Int?
    }
}
