/// Why a model directory could not be loaded or a request could not be run.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case invalidConfig(file: String, reason: String)
    case missingTensor(name: String, directory: String)
    case wrongShape(name: String, expected: [Int], found: [Int], directory: String)
    case emptyPrompt
    case promptTooLong(tokens: Int, limit: Int)
    case invalidTokenID(Int, vocabularySize: Int)
    case invalidArgument(String)
    /// A tensor that exists but cannot be used as asked (int4 columns not a multiple of the group, malformed scales).
    case invalidTensor(name: String, reason: String, directory: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): file not found"
        case .invalidConfig(let file, let reason):
            return "\(file): invalid OPT config: \(reason)"
        case .missingTensor(let name, let directory):
            return "\(directory): checkpoint has no tensor \"\(name)\" (also looked for \"model.\(name)\")"
        case .wrongShape(let name, let expected, let found, let directory):
            return "\(directory): tensor \"\(name)\" has shape \(found), config.json implies \(expected)"
        case .emptyPrompt:
            return "the prompt is empty: give at least one token"
        case .promptTooLong(let tokens, let limit):
            return "the input is \(tokens) tokens, more than the model's \(limit) positions"
        case .invalidTokenID(let id, let size):
            return "token id \(id) is outside the vocabulary (0..<\(size))"
        case .invalidArgument(let message):
            return message
        case .invalidTensor(let name, let reason, let directory):
            return "\(directory): tensor \"\(name)\" \(reason)"
        }
    }
}
