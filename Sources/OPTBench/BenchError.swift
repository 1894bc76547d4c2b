/// Why a task source, a split file or a bench could not be read or written; every case names the
/// file (and key, line or instance) at fault.
public enum BenchError: Error, CustomStringConvertible, Sendable, Equatable {
    case unreadableFile(path: String, reason: String)
    /// Not valid JSON (or YAML); `line` is set for JSONL files.
    case malformedFile(path: String, line: Int?, reason: String)
    case missingKey(path: String, key: String)
    case wrongType(path: String, key: String, expected: String)
    /// An instance (or example) without any output, or with only empty ones.
    case emptyOutputs(path: String, instance: String)
    case duplicateInstanceID(path: String, id: String)
    /// Two sources hold a task of the same name.
    case duplicateTask(id: String, first: String, second: String)
    /// A `--source` argument that is not `KIND:PATH` with a known kind, or a folder without task files.
    case invalidSource(String, reason: String)
    case unknownPreset(String)
    /// A split file names a category no task has, or a task no source holds.
    case unknownName(path: String, key: String, name: String)
    /// A split file's value is out of range or contradicts another.
    case invalidSplit(path: String, key: String, reason: String)
    case unwritable(path: String, reason: String)
    /// A built bench is incomplete or inconsistent.
    case invalidBench(path: String, reason: String)
    case unknownTask(bench: String, task: String)
    /// A template that does not parse (a syntax error, an unknown filter); `reason` gives its line and column.
    case badTemplate(path: String, template: String, reason: String)
    /// A template failed on a dataset row (a missing column, a value of the wrong type).
    case templateFailed(path: String, row: Int, template: String, reason: String)

    /// One line naming the file and what is wrong with it.
    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "cannot read \(path): \(reason)"
        case let .malformedFile(path, line, reason):
            return "malformed \(path)\(line.map { " at line \($0)" } ?? ""): \(reason)"
        case let .missingKey(path, key): return "\(path): missing key \(key.debugDescription)"
        case let .wrongType(path, key, expected): return "\(path): \(key.debugDescription) must be \(expected)"
        case let .emptyOutputs(path, instance): return "\(path): \(instance) has no non-empty output"
        case let .duplicateInstanceID(path, id): return "\(path): instance id \(id.debugDescription) appears more than once"
        case let .duplicateTask(id, first, second): return "task \(id) is in both \(first) and \(second)"
        case let .invalidSource(spec, reason): return "--source \(spec): \(reason)"
        case let .unknownPreset(name):
            return "unknown preset \(name.debugDescription): expected niv2-default, opt-iml or a .yaml/.yml/.json split file"
        case let .unknownName(path, key, name): return "\(path): \(key) names \(name.debugDescription), which no task of the sources has"
        case let .invalidSplit(path, key, reason): return "\(path): \(key): \(reason)"
        case let .unwritable(path, reason): return "cannot write \(path): \(reason)"
        case let .invalidBench(path, reason): return "\(path) is not a usable bench: \(reason)"
        case let .unknownTask(bench, task): return "no task \(task.debugDescription) in the bench \(bench)"
        case let .badTemplate(path, template, reason): return "\(path): template \(template): \(reason)"
        case let .templateFailed(path, row, template, reason): return "\(path): row \(row): template \(template): \(reason)"
        }
    }
}
