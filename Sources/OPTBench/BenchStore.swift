import Foundation
import OPTSupport

/// The bench's index: sources, split, seed, levels with their tasks, counts, taxonomy and content hashes.
public struct BenchManifest: Codable, Sendable, Equatable {
    public static let formatName = "optiml-bench"
    public var format = formatName
    public var version = 1
    public var sources: [SourceRecord]
    public var spec: SplitSpec
    public var seed: UInt64
    public var taxonomy: TaxonomyRecord
    /// "1", "2", "3" → "validation" / "test" → task ids.
    public var levels: [String: [String: [String]]]
    public var tasks: [TaskRecord]
    public var excluded: [ExcludedTask]
    public var counts: Counts
    /// SHA-256 of `leakage.json`.
    public var leakageSHA256: String

    public struct SourceRecord: Codable, Sendable, Equatable {
        public var kind: String
        public var path: String
        public var tasks: Int
    }

    public struct TaxonomyRecord: Codable, Sendable, Equatable {
        public var origin: String
        public var sha256: String
        /// Categories of the sources the taxonomy does not know (kept as they are).
        public var unmapped: [String]
    }

    /// A task written into the bench.
    public struct TaskRecord: Codable, Sendable, Equatable {
        public var id: String
        public var benchmark: String
        /// Where the task's instruction lives (nil in benches written before it was recorded).
        public var instructionLevel: InstructionLevel?
        public var categories: [String]
        public var role: TaskAssignment.Role
        public var level: Int?
        /// Instances per split.
        public var instances: [String: Int]
        public var options: [String]?
        public var file: String
        public var sha256: String

        enum CodingKeys: String, CodingKey {
            case id, benchmark, categories, role, level, instances, options, file, sha256
            case instructionLevel = "instruction_level"
        }
    }

    public struct ExcludedTask: Codable, Sendable, Equatable {
        public var id: String
        public var reason: String
    }

    public struct Counts: Codable, Sendable, Equatable {
        public var tasksRead: Int
        public var tasksKept: Int
        public var tasksExcluded: Int
        public var instances: [String: Int]

        enum CodingKeys: String, CodingKey {
            case instances
            case tasksRead = "tasks_read", tasksKept = "tasks_kept", tasksExcluded = "tasks_excluded"
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, version, sources, spec, seed, taxonomy, levels, tasks, excluded, counts
        case leakageSHA256 = "leakage_sha256"
    }
}

/// A bench on disk: `manifest.json`, `leakage.json` and `tasks/<id>.jsonl` (line 1 `{"task": …}` with
/// the task's metadata, then one instance a line with its `split`), the same JSONL task format
/// `jsonl:` sources read.
public enum BenchStore {
    /// Writes the bench into a temporary folder beside `directory`, then renames it into place, so a
    /// reader never sees half a bench. An existing bench there is replaced only with `replace`.
    public static func write(_ bench: Bench, sources: [TaskSource], sourceCounts: [Int], taxonomy: Taxonomy,
                             to directory: URL, replace: Bool = false) throws -> BenchManifest {
        try write(bench, sourceRecords: zip(sources, sourceCounts).map { .init(kind: $0.kind.rawValue, path: $0.path, tasks: $1) },
                  taxonomy: taxonomy, to: directory, replace: replace)
    }

    /// `write` with the sources as the manifest records them (a suite is not a task source of `bench build`).
    public static func write(_ bench: Bench, sourceRecords: [BenchManifest.SourceRecord], taxonomy: Taxonomy,
                             to directory: URL, replace: Bool = false) throws -> BenchManifest {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: directory.path) {
            guard replace else { throw BenchError.unwritable(path: directory.path, reason: "it exists (pass --force to replace it)") }
            try checkReplaceable(directory, sources: sourceRecords.map(\.path))
        }
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        try? fileManager.removeItem(at: staging)
        do {
            try fileManager.createDirectory(at: staging.appendingPathComponent("tasks"), withIntermediateDirectories: true)
            var records: [BenchManifest.TaskRecord] = []
            let splitter = InstanceSplitter(spec: bench.spec, seed: bench.seed)
            for unread in bench.tasks {
                guard BenchTask.isValidID(unread.id), let assignment = bench.assignments[unread.id] else {
                    throw BenchError.unwritable(path: directory.path, reason: "task id \(unread.id.debugDescription) cannot name a file in the bench")
                }
                // One task's instances at a time: a task that does not hold them reads them again here.
                let task = try splitter.prepared(unread, role: assignment.role)
                let data = try taskFile(task)
                let file = "tasks/\(task.id).jsonl"
                try data.write(to: staging.appendingPathComponent(file))
                var perSplit: [String: Int] = [:]
                for instance in task.instances { perSplit[instance.split?.rawValue ?? "none", default: 0] += 1 }
                records.append(BenchManifest.TaskRecord(id: task.id, benchmark: task.benchmark, instructionLevel: task.instructionLevel,
                                                        categories: task.categories,
                                                        role: assignment.role, level: assignment.level, instances: perSplit,
                                                        options: task.options, file: file, sha256: ContentHash.sha256(data)))
            }
            let leakage = try encoder().encode(bench.leakage)
            try leakage.write(to: staging.appendingPathComponent("leakage.json"))
            let manifest = BenchManifest(
                sources: sourceRecords,
                spec: bench.spec, seed: bench.seed,
                taxonomy: .init(origin: taxonomy.origin, sha256: ContentHash.sha256(taxonomy.data), unmapped: bench.unmappedCategories),
                levels: levels(records), tasks: records,
                excluded: bench.allTasks.compactMap { task in
                    bench.assignments[task.id].flatMap { $0.role == .excluded ? .init(id: task.id, reason: $0.reason ?? "") : nil }
                },
                counts: .init(tasksRead: bench.allTasks.count, tasksKept: records.count, tasksExcluded: bench.allTasks.count - records.count,
                              instances: records.reduce(into: [:]) { total, record in total.merge(record.instances, uniquingKeysWith: +) }),
                leakageSHA256: ContentHash.sha256(leakage))
            try encoder().encode(manifest).write(to: staging.appendingPathComponent("manifest.json"))
            try moveIntoPlace(staging, directory)
            return manifest
        } catch let error as BenchError {
            try? fileManager.removeItem(at: staging)
            throw error
        } catch {
            try? fileManager.removeItem(at: staging)
            throw BenchError.unwritable(path: directory.path, reason: FileProblem.reason(error))
        }
    }

    /// What `replace` may delete: a bench (a folder with a manifest.json) that holds none of the sources it is built
    /// from, so that a mistyped --out never takes a user's folder, or the task files being read, with it.
    static func checkReplaceable(_ directory: URL, sources: [String]) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isFolder), isFolder.boolValue,
              FileManager.default.fileExists(atPath: directory.appendingPathComponent("manifest.json").path) else {
            throw BenchError.unwritable(path: directory.path, reason: "it exists and is not a bench (no manifest.json): --force replaces only a bench")
        }
        let folder = directory.standardizedFileURL.resolvingSymlinksInPath().path + "/"
        for source in sources where (URL(fileURLWithPath: source).standardizedFileURL.resolvingSymlinksInPath().path + "/").hasPrefix(folder) {
            throw BenchError.unwritable(path: directory.path, reason: "it holds the source \(source) that the bench is built from")
        }
    }

    private static func moveIntoPlace(_ staging: URL, _ directory: URL) throws {
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: directory.path) else {
            try fileManager.moveItem(at: staging, to: directory)
            return
        }
        // Replacing: the old bench moves aside first, and comes back if the new one cannot take its place.
        let old = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
        try fileManager.moveItem(at: directory, to: old)
        do { try fileManager.moveItem(at: staging, to: directory) } catch {
            try? fileManager.moveItem(at: old, to: directory)
            throw error
        }
        try? fileManager.removeItem(at: old)
    }

    static func levels(_ records: [BenchManifest.TaskRecord]) -> [String: [String: [String]]] {
        var levels: [String: [String: [String]]] = ["1": [:], "2": [:], "3": [:]]
        for record in records {
            if let level = record.level { levels["\(level)", default: [:]][record.role.rawValue, default: []].append(record.id) }
            for split in [InstanceSplit.validation, .test] where record.role == .train && (record.instances[split.rawValue] ?? 0) > 0 {
                levels["3", default: [:]][split.rawValue, default: []].append(record.id)
            }
        }
        return levels
    }

    /// The task's JSONL file: metadata line, then instances.
    static func taskFile(_ task: BenchTask) throws -> Data {
        var header = task
        header.instances = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(["task": header])
        data.append(0x0A)
        for instance in task.instances {
            data.append(try encoder.encode(instance))
            data.append(0x0A)
        }
        return data
    }

    /// Reads a bench's manifest.
    public static func manifest(_ directory: URL) throws -> BenchManifest {
        let url = directory.appendingPathComponent("manifest.json")
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw BenchError.invalidBench(path: directory.path, reason: "no readable manifest.json (\(FileProblem.reason(error)))")
        }
        do {
            let manifest = try JSONDecoder().decode(BenchManifest.self, from: data)
            guard manifest.format == BenchManifest.formatName else {
                throw BenchError.invalidBench(path: directory.path, reason: "manifest.json is not an optiml bench manifest")
            }
            return manifest
        } catch let error as BenchError { throw error } catch {
            throw BenchError.invalidBench(path: url.path, reason: DecodingProblem.describe(error, json: data))
        }
    }

    /// Reads one task of a bench, checking its content hash against the manifest.
    public static func task(_ id: String, in directory: URL, manifest: BenchManifest) throws -> (BenchTask, BenchManifest.TaskRecord) {
        guard let record = manifest.tasks.first(where: { $0.id == id }) else { throw BenchError.unknownTask(bench: directory.path, task: id) }
        let url = directory.appendingPathComponent(record.file)
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw BenchError.unreadableFile(path: url.path, reason: FileProblem.reason(error)) }
        guard ContentHash.sha256(data) == record.sha256 else {
            throw BenchError.invalidBench(path: url.path, reason: "its SHA-256 differs from the manifest's (the file was changed or damaged)")
        }
        // Read whole: the content hash is checked before any line is trusted.
        let lines = JSONLinesReader(data: data, file: url.path)
        let decoder = JSONDecoder()
        do {
            func next() throws(JSONLinesError) -> (number: Int, bytes: ArraySlice<UInt8>)? {
                while let line = try lines.next() { if !line.bytes.isEmpty { return line } }
                return nil
            }
            guard let first = try next() else { throw BenchError.invalidBench(path: url.path, reason: "empty task file") }
            var task = try lines.decode([String: BenchTask].self, from: first, with: decoder)["task"]
                .orThrow(BenchError.invalidBench(path: url.path, reason: "line 1 has no \"task\" object"))
            var instances: [TaskInstance] = []
            while let line = try next() { instances.append(try lines.decode(TaskInstance.self, from: line, with: decoder)) }
            task.instances = instances
            return (task, record)
        } catch let error as BenchError { throw error } catch {
            // JSONLinesError, which names the line and what is wrong with it.
            throw BenchError.invalidBench(path: url.path, reason: "\(error)")
        }
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
