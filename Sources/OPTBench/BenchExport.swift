import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a bench split as metaseq-style JSONL (`{"src", "tgt"}` a line; evaluation splits add
/// `candidates`, `gold`, `task`, `id` and `level`) for training or evaluating on existing engines.
public enum BenchExport {
    /// Formats every instance of `split` (of the tasks at `levels`, for evaluation splits) and writes
    /// them to `file` atomically. Returns the number of lines written.
    @discardableResult
    public static func metaseq(bench directory: URL, split: InstanceSplit, levels: Set<Int>? = nil,
                               formatter: PromptFormatter, to file: URL) throws -> Int {
        let manifest = try BenchStore.manifest(directory)
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil), let handle = FileHandle(forWritingAtPath: temporary.path) else {
            throw BenchError.unwritable(path: file.path, reason: "cannot create \(temporary.path)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = 0
        do {
            defer { try? handle.close() }
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
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? BenchError { throw error }
            throw BenchError.unwritable(path: file.path, reason: LenientJSON.reason(error))
        }
        // rename(2) replaces an existing file in one step.
        if rename(temporary.path, file.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw BenchError.unwritable(path: file.path, reason: reason)
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
