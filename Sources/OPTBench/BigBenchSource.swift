import Foundation
import OPTSupport
import OPTData

/// Reads BIG-bench JSON tasks: a `benchmark_tasks` folder, any folder of task folders, or one task
/// folder; every `task.json` with examples is a task (subtasks included, a folder of subtasks' own
/// `task.json` only describes them).
///
/// The instruction is `task_prefix`, else `description`. Multiple-choice examples (`target_scores`)
/// become instances whose options are the choices in file order and whose output is the best-scored
/// choice (the first on ties); generative ones (`target`, a string or a list) give references. The
/// canary string is never read into a prompt. Keywords map onto categories through the shipped
/// `bigbench.json` (first matching rule wins).
public enum BigBenchSource {
    /// The tasks under `directory`, sorted by id (`bigbench_` + the folder path with `_` for `/`).
    public static func load(directory: URL) throws -> [BenchTask] {
        let rules = try BigBenchRules.builtin()
        let files = taskFiles(under: directory)
        if files.isEmpty {
            throw BenchError.invalidSource("bigbench:\(directory.path)", reason: "no task.json under the folder")
        }
        return try files.compactMap { try task(file: $0.file, path: $0.path, rules: rules) }.sorted { $0.id < $1.id }
    }

    /// Every `task.json` below `root` with its folder path relative to `root` (empty for `root` itself).
    static func taskFiles(under root: URL) -> [(file: URL, path: [String])] {
        var found: [(URL, [String])] = []
        func visit(_ folder: URL, _ path: [String]) {
            let file = folder.appendingPathComponent("task.json")
            if FileManager.default.fileExists(atPath: file.path) { found.append((file, path)) }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                var isDirectory: ObjCBool = false
                let child = folder.appendingPathComponent(name, isDirectory: true)
                if FileManager.default.fileExists(atPath: child.path, isDirectory: &isDirectory), isDirectory.boolValue {
                    visit(child, path + [name])
                }
            }
        }
        visit(root, [])
        return found
    }

    /// One task file; nil for a file without examples (a description of its subtasks).
    static func task(file: URL, path: [String], rules: BigBenchRules) throws -> BenchTask? {
        let location = file.path
        let data: Data
        do { data = try Data(contentsOf: file) } catch { throw BenchError.unreadableFile(path: location, reason: FileProblem.reason(error)) }
        let top: DatasetValue
        do { top = try JSONDocument.parse(data, file: location) } catch {
            throw BenchError.malformedFile(path: location, line: nil, reason: error.message)
        }
        guard let fields = top.recordValue else { throw BenchError.wrongType(path: location, key: "task", expected: "a JSON object") }
        func text(_ key: String) throws -> String? {
            guard let value = fields[key], !value.isNull else { return nil }
            guard let string = value.stringValue else { throw BenchError.wrongType(path: location, key: key, expected: "a string") }
            return string
        }
        guard let examples = fields["examples"]?.listValue, !examples.isEmpty else {
            if fields["examples"].map({ $0.listValue == nil && !$0.isNull }) == true {
                throw BenchError.wrongType(path: location, key: "examples", expected: "a list of examples")
            }
            return nil
        }
        let name = try text("name") ?? path.last ?? file.deletingLastPathComponent().lastPathComponent
        let folderPath = path.isEmpty ? [file.deletingLastPathComponent().lastPathComponent] : path
        let id = "bigbench_" + folderPath.joined(separator: "_")
        let instruction = try text("task_prefix").flatMap { $0.isBlank ? nil : $0 } ?? text("description") ?? ""
        guard !instruction.isBlank else {
            throw BenchError.missingKey(path: location, key: "description")
        }
        let keywords = try (fields["keywords"]?.listValue ?? []).map { value -> String in
            guard let keyword = value.stringValue else { throw BenchError.wrongType(path: location, key: "keywords", expected: "a list of strings") }
            return keyword
        }
        let instances = try examples.enumerated().map { index, example in
            try instance(example, index: index, taskID: id, path: location)
        }
        let family = folderPath[0]
        return BenchTask(
            id: id, benchmark: rules.benchmark(task: family), categories: [rules.category(keywords: keywords, name: name)],
            sources: [rules.source(task: family, name: name)], instructionLevel: .task, definition: [instruction],
            instances: instances, domains: [], origin: location)
    }

    static func instance(_ example: DatasetValue, index: Int, taskID: String, path: String) throws -> TaskInstance {
        let location = "examples[\(index)]"
        guard let fields = example.recordValue else { throw BenchError.wrongType(path: path, key: location, expected: "an object") }
        guard let input = fields["input"]?.stringValue else {
            if fields["input"] == nil { throw BenchError.missingKey(path: path, key: "\(location).input") }
            throw BenchError.wrongType(path: path, key: "\(location).input", expected: "a string")
        }
        let id = "\(taskID)-\(index)"
        if let scores = fields["target_scores"], !scores.isNull {
            guard let choices = scores.recordValue, !choices.isEmpty else {
                throw BenchError.wrongType(path: path, key: "\(location).target_scores", expected: "an object of choice: score")
            }
            var best: (choice: String, score: Double)?
            for (choice, value) in choices {
                guard let score = value.doubleValue else {
                    throw BenchError.wrongType(path: path, key: "\(location).target_scores.\(choice)", expected: "a number")
                }
                if score > (best?.score ?? -.infinity) { best = (choice, score) }
            }
            guard let best, best.score > 0 else {
                throw BenchError.emptyOutputs(path: path, instance: "\(location) (no choice has a positive score)")
            }
            return TaskInstance(id: id, input: input, outputs: [best.choice], options: choices.keys)
        }
        let outputs: [String]
        switch fields["target"] {
        case .string(let target)?: outputs = [target]
        case .list(let targets)?:
            outputs = try targets.map { value in
                guard let target = value.stringValue else {
                    throw BenchError.wrongType(path: path, key: "\(location).target", expected: "a string or a list of strings")
                }
                return target
            }
        case nil: throw BenchError.missingKey(path: path, key: "\(location).target")
        default: throw BenchError.wrongType(path: path, key: "\(location).target", expected: "a string or a list of strings")
        }
        guard !outputs.allSatisfy(\.isBlank) else { throw BenchError.emptyOutputs(path: path, instance: location) }
        return TaskInstance(id: id, input: input, outputs: outputs)
    }
}

/// The shipped map from BIG-bench tasks to the bench's benchmarks, categories and source datasets
/// (`Resources/bigbench.json`).
struct BigBenchRules: Decodable {
    /// Keyword → category, in priority order: the first rule matching any of a task's keywords wins.
    var keywords: [[String]]
    /// Task-name fragment → category, tried after the keywords (the Natural Instructions v1 subtasks' keywords are plain words).
    var names: [[String]]
    /// The category of a task no rule matches.
    var fallback: String
    /// Top-level task folder → benchmark, for tasks that belong to one of the paper's collections; others are `bigbench`.
    var benchmarks: [String: String]
    /// Top-level task folders whose subtasks name their source dataset after their number (`subtask001_quoref_…` → quoref):
    /// the Natural Instructions v1 tasks, which are Super-NI's task001–task061 with the same sources.
    var datasetInName: [String]

    enum CodingKeys: String, CodingKey {
        case keywords, names, fallback, benchmarks
        case datasetInName = "dataset_in_name"
    }

    static func builtin() throws -> BigBenchRules {
        guard let url = Bundle.module.url(forResource: "bigbench", withExtension: "json") else {
            throw BenchError.unreadableFile(path: "bigbench.json", reason: "the resource is missing from the OPTBench bundle")
        }
        do { return try JSONDecoder().decode(BigBenchRules.self, from: Data(contentsOf: url)) } catch {
            throw BenchError.malformedFile(path: url.path, line: nil, reason: FileProblem.reason(error))
        }
    }

    func category(keywords taskKeywords: [String], name: String) -> String {
        let given = Set(taskKeywords.map { $0.lowercased() })
        if let rule = keywords.first(where: { $0.count == 2 && given.contains($0[0]) }) { return rule[1] }
        if let rule = names.first(where: { $0.count == 2 && name.contains($0[0]) }) { return rule[1] }
        return fallback
    }

    func benchmark(task: String) -> String { benchmarks[task] ?? "bigbench" }

    func source(task: String, name: String) -> String {
        guard datasetInName.contains(task) else { return task }
        // subtaskNNN_dataset_rest → dataset, as Super-NI's `Source` of taskNNN_dataset_rest.
        let parts = name.split(separator: "_")
        return parts.count > 1 ? String(parts[1]) : name
    }
}
