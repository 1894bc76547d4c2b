import Foundation
import OPTSupport

/// Reads tasks in the project's JSONL task format, for collections other than Super-NI
/// (PromptSource, FLAN, CrossFit, UnifiedSKG, a user's own data). One file a task, `NAME.jsonl`:
///
/// - line 1: `{"task": {...}}` with `benchmark` (required), `categories` (required), and optionally
///   `id` (default: the file name), `sources`, `instruction_level` (`task`, the default, or `instance`),
///   `definition` (string or list; required for task-level instructions), `templates`,
///   `positive_examples` / `negative_examples` (`{input, output, explanation?}`), `options`,
///   `input_languages`, `output_languages`, `instruction_languages`, `domains`, `reasoning`;
/// - every further line: one instance `{"id", "input", "outputs": [...]}` (`output` as a string or list
///   is accepted too) with optional per-instance `options`. Blank lines are ignored.
public enum JSONLSource {
    /// Every `*.jsonl` file of a folder (or one file), sorted by task id.
    public static func load(path: URL) throws -> [BenchTask] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw BenchError.invalidSource("jsonl:\(path.path)", reason: "no such file or folder")
        }
        guard isDirectory.boolValue else { return [try task(file: path)] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path.path)) ?? []
        let files = names.filter { $0.hasSuffix(".jsonl") }.sorted()
        if files.isEmpty { throw BenchError.invalidSource("jsonl:\(path.path)", reason: "no .jsonl files in the folder") }
        return try files.map { try task(file: path.appendingPathComponent($0)) }.sorted { $0.id < $1.id }
    }

    public static func task(file: URL) throws -> BenchTask {
        let path = file.path
        let data: Data
        do { data = try Data(contentsOf: file) } catch { throw BenchError.unreadableFile(path: path, reason: FileProblem.reason(error)) }
        var lines = nonBlankLines(data, path: path)
        guard !lines.isEmpty else { throw BenchError.malformedFile(path: path, line: nil, reason: "the file is empty") }
        let header = lines.removeFirst()
        let top = try JSONFields(try LenientJSON.object(from: header.bytes, path: path, line: header.number), path: path,
                                 what: "line \(header.number)")
        guard top.has("task") else { throw BenchError.missingKey(path: path, key: "task (line \(header.number))") }
        let meta = try JSONFields(top.object["task"] as Any, path: path, what: "task")
        let id = try meta.optionalString("id") ?? file.deletingPathExtension().lastPathComponent
        guard BenchTask.isValidID(id) else {
            throw BenchError.wrongType(path: path, key: "task.id", expected: "a name without '/' or '\\' that does not start with '.' (it names the task's file in a bench)")
        }
        let level: InstructionLevel
        switch try meta.optionalString("instruction_level") ?? "task" {
        case "task": level = .task
        case "instance": level = .instance
        default: throw BenchError.wrongType(path: path, key: "task.instruction_level", expected: "\"task\" or \"instance\"")
        }
        let definition = try meta.strings("definition", required: level == .task)
        if level == .task, definition.allSatisfy(\.isBlank) {
            throw BenchError.wrongType(path: path, key: "task.definition", expected: "a non-empty string or list of strings for a task-level instruction")
        }
        let categories = try meta.strings("categories", required: true)
        var instances: [TaskInstance] = []
        for (index, line) in lines.enumerated() {
            let value = try LenientJSON.object(from: line.bytes, path: path, line: line.number)
            instances.append(try instance(value, line: line.number, index: index, taskID: id, path: path))
        }
        try NIV2Source.checkUniqueIDs(instances, path: path)
        let options = try meta.options("options", location: "task")
        return BenchTask(
            id: id, benchmark: try meta.string("benchmark"), categories: categories, sources: try meta.strings("sources"),
            instructionLevel: level, definition: definition, templates: try meta.strings("templates"),
            positiveExamples: try NIV2Source.examples(meta, key: "positive_examples"),
            negativeExamples: try NIV2Source.examples(meta, key: "negative_examples"),
            instances: instances, options: options,
            inputLanguages: try languages(meta, "input_languages"), outputLanguages: try languages(meta, "output_languages"),
            instructionLanguages: try languages(meta, "instruction_languages"), domains: try meta.strings("domains"),
            reasoning: try meta.strings("reasoning"), origin: path)
    }

    /// The lines holding anything but spaces, tabs and carriage returns, with their 1-based numbers.
    static func nonBlankLines(_ data: Data, path: String) -> [(number: Int, bytes: Data)] {
        var lines: [(number: Int, bytes: Data)] = []
        let reader = JSONLinesReader(data: data, file: path)
        // Bytes in memory: splitting them cannot fail.
        while let line = try? reader.next() {
            if !JSONLinesReader.isBlank(line.bytes) { lines.append((line.number, Data(line.bytes))) }
        }
        return lines
    }

    private static func languages(_ meta: JSONFields, _ key: String) throws -> [String] {
        meta.has(key) ? try meta.strings(key) : ["English"]
    }

    /// Instance number `index` (0-based, as Super-NI numbers instances without an id).
    private static func instance(_ value: Any, line: Int, index: Int, taskID: String, path: String) throws -> TaskInstance {
        let location = "line \(line)"
        let fields = try JSONFields(value, path: path, what: location)
        let id = try fields.instanceID(location: location) ?? "\(taskID)-\(index)"
        guard let input = fields.object["input"] as? String else {
            if fields.has("input") { throw BenchError.wrongType(path: path, key: "\(location): input", expected: "a string") }
            throw BenchError.missingKey(path: path, key: "\(location): input")
        }
        let key = fields.has("outputs") ? "outputs" : "output"
        let outputs: [String]
        do { outputs = try fields.strings(key, required: true) } catch BenchError.missingKey {
            throw BenchError.missingKey(path: path, key: "\(location): outputs")
        } catch BenchError.wrongType {
            throw BenchError.wrongType(path: path, key: "\(location): \(key)", expected: "a string or a list of strings")
        }
        guard !outputs.allSatisfy(\.isBlank) else {
            throw BenchError.emptyOutputs(path: path, instance: "instance \(id) (\(location))")
        }
        let options = try fields.options("options", location: location)
        return TaskInstance(id: id, input: input, outputs: outputs, options: options)
    }
}
