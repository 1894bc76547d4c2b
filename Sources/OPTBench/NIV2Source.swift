import Foundation
import OPTSupport

/// Reads Super-NaturalInstructions task files: a folder of `taskNNN_*.json`, or the official
/// repository layout (`tasks/` with `splits/<name>/{train,test,excluded}_tasks.txt`).
public enum NIV2Source {
    /// The tasks of a folder, sorted by id, and the split lists found beside them (keyed by split name, e.g. "default").
    public static func load(directory: URL) throws -> (tasks: [BenchTask], splits: [String: NIV2SplitLists]) {
        let fileManager = FileManager.default
        let tasksFolder = directory.appendingPathComponent("tasks", isDirectory: true)
        var isDirectory: ObjCBool = false
        let folder = fileManager.fileExists(atPath: tasksFolder.path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? tasksFolder : directory
        let names: [String]
        do { names = try fileManager.contentsOfDirectory(atPath: folder.path) } catch {
            throw BenchError.invalidSource("niv2:\(directory.path)", reason: "cannot list the folder (\(FileProblem.reason(error)))")
        }
        let files = names.filter { $0.hasPrefix("task") && $0.hasSuffix(".json") }.sorted()
        if files.isEmpty {
            throw BenchError.invalidSource("niv2:\(directory.path)", reason: "no task*.json files in \(folder.path)")
        }
        let tasks = try files.map { try task(file: folder.appendingPathComponent($0)) }.sorted { $0.id < $1.id }
        return (tasks, try splitLists(directory.appendingPathComponent("splits", isDirectory: true)))
    }

    /// One task file, with every key of the official schema.
    public static func task(file: URL) throws -> BenchTask {
        let path = file.path
        let data: Data
        do { data = try Data(contentsOf: file) } catch { throw BenchError.unreadableFile(path: path, reason: FileProblem.reason(error)) }
        let fields = try JSONFields(try LenientJSON.object(from: data, path: path), path: path)
        let id = file.deletingPathExtension().lastPathComponent
        let definition = try fields.strings("Definition", required: true)
        if definition.allSatisfy(\.isBlank) {
            throw BenchError.wrongType(path: path, key: "Definition", expected: "a non-empty string or list of strings")
        }
        let instances = try fields.objects("Instances", required: true).enumerated().map { index, value in
            try instance(value, index: index, taskID: id, path: path)
        }
        try checkUniqueIDs(instances, path: path)
        return BenchTask(
            id: id, benchmark: "niv2", categories: try fields.strings("Categories"), sources: try fields.strings("Source"),
            instructionLevel: .task, definition: definition,
            positiveExamples: try examples(fields, key: "Positive Examples"),
            negativeExamples: try examples(fields, key: "Negative Examples"),
            instances: instances,
            inputLanguages: try fields.strings("Input_language"), outputLanguages: try fields.strings("Output_language"),
            instructionLanguages: try fields.strings("Instruction_language"), domains: try fields.strings("Domains"),
            reasoning: try fields.strings("Reasoning"), origin: path)
    }

    static func instance(_ value: Any, index: Int, taskID: String, path: String) throws -> TaskInstance {
        let location = "Instances[\(index)]"
        let fields = try JSONFields(value, path: path, what: location)
        let id = try fields.instanceID(location: location) ?? "\(taskID)-\(index)"
        guard fields.has("input") else { throw BenchError.missingKey(path: path, key: "\(location).input") }
        guard let input = fields.object["input"] as? String else {
            throw BenchError.wrongType(path: path, key: "\(location).input", expected: "a string")
        }
        let outputs: [String]
        do { outputs = try fields.strings("output", required: true) } catch BenchError.missingKey {
            throw BenchError.missingKey(path: path, key: "\(location).output")
        } catch BenchError.wrongType {
            throw BenchError.wrongType(path: path, key: "\(location).output", expected: "a string or a list of strings")
        }
        guard !outputs.allSatisfy(\.isBlank) else {
            throw BenchError.emptyOutputs(path: path, instance: "instance \(id)")
        }
        return TaskInstance(id: id, input: input, outputs: outputs)
    }

    static func examples(_ fields: JSONFields, key: String) throws -> [TaskExample] {
        try fields.objects(key).enumerated().map { index, value in
            let example = try JSONFields(value, path: fields.path, what: "\(key)[\(index)]")
            func text(_ name: String) throws -> String {
                guard let string = example.object[name] as? String else {
                    if example.has(name) { throw BenchError.wrongType(path: fields.path, key: "\(key)[\(index)].\(name)", expected: "a string") }
                    throw BenchError.missingKey(path: fields.path, key: "\(key)[\(index)].\(name)")
                }
                return string
            }
            let explanation = example.has("explanation") ? try text("explanation") : nil
            return TaskExample(input: try text("input"), output: try text("output"), explanation: explanation)
        }
    }

    static func checkUniqueIDs(_ instances: [TaskInstance], path: String) throws {
        var seen = Set<String>()
        for instance in instances where !seen.insert(instance.id).inserted {
            throw BenchError.duplicateInstanceID(path: path, id: instance.id)
        }
    }

    /// `splits/<name>/{train,test,excluded}_tasks.txt`, one task name a line.
    static func splitLists(_ folder: URL) throws -> [String: NIV2SplitLists] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [:] }
        var result: [String: NIV2SplitLists] = [:]
        for name in names.sorted() {
            let splitFolder = folder.appendingPathComponent(name, isDirectory: true)
            func list(_ file: String) throws -> [String]? {
                let url = splitFolder.appendingPathComponent(file)
                guard FileManager.default.fileExists(atPath: url.path) else { return nil }
                return try NIV2SplitLists.read(url)
            }
            guard let train = try list("train_tasks.txt"), let test = try list("test_tasks.txt") else { continue }
            result[name] = NIV2SplitLists(train: train, test: test, excluded: try list("excluded_tasks.txt") ?? [])
        }
        return result
    }
}

/// The task lists of one official Super-NI split.
public struct NIV2SplitLists: Sendable, Equatable {
    public var train: [String]
    public var test: [String]
    public var excluded: [String]

    static func read(_ url: URL) throws -> [String] {
        let text: String
        do { text = try UTF8File.read(url) } catch {
            throw BenchError.unreadableFile(path: url.path, reason: error.reason)
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
