/// Why a tokenizer could not be loaded or built; every case names the file (when there is one)
/// and what is wrong with it.
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The directory holds neither `tokenizer.json` nor both `vocab.json` and `merges.txt`.
    case missingFiles(directory: String, found: [String])
    /// A file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// A file is not valid JSON, or its JSON does not have the expected shape.
    case malformedJSON(path: String, reason: String)
    /// A line of `merges.txt` (or an entry of `model.merges`) is not a pair of tokens.
    case badMergesLine(path: String, line: Int, text: String)
    /// `tokenizer.json` describes a model other than BPE (WordPiece, Unigram, ...).
    case unsupportedModel(path: String, type: String)
    /// A pipeline stage (normalizer, pre-tokenizer, post-processor, decoder, model option) that
    /// this byte-level BPE implementation does not reproduce.
    case unsupportedComponent(path: String, component: String, detail: String)
    /// A merge names a token, or produces a token, that the vocabulary lacks (Hugging Face refuses
    /// such files too).
    case mergeTokenNotInVocabulary(path: String, token: String)
    /// A special token (BOS, a post-processor token, ...) is not in the vocabulary.
    case unknownToken(path: String, token: String, role: String)
    /// The vocabulary itself is unusable (negative ids, empty, ...).
    case invalidVocabulary(path: String, reason: String)
    /// A tokenizer file could not be written.
    case unwritableFile(path: String, reason: String)

    /// One line naming the file and what is wrong with it.
    public var description: String {
        switch self {
        case let .missingFiles(directory, found):
            // The first names are enough to see which folder it is; a large one would fill the screen.
            let shown = 12, more = found.count > shown ? ", and \(found.count - shown) more" : ""
            let listing = found.isEmpty ? "it is empty or unreadable" : "it holds: " + found.prefix(shown).joined(separator: ", ") + more
            return "no tokenizer in \(directory): expected tokenizer.json or vocab.json + merges.txt, but \(listing)"
        case let .unreadableFile(path, reason):
            return "cannot read \(path): \(reason)"
        case let .malformedJSON(path, reason):
            return "malformed JSON in \(path): \(reason)"
        case let .badMergesLine(path, line, text):
            return "bad merges entry in \(path) at line \(line): expected two tokens separated by one space, got \(text.debugDescription)"
        case let .unsupportedModel(path, type):
            return "unsupported tokenizer model type \(type.debugDescription) in \(path): only byte-level BPE is implemented"
        case let .unsupportedComponent(path, component, detail):
            return "unsupported \(component) in \(path): \(detail)"
        case let .mergeTokenNotInVocabulary(path, token):
            return "merge token \(token.debugDescription) in \(path) is not in the vocabulary"
        case let .unknownToken(path, token, role):
            return "\(role) \(token.debugDescription) named in \(path) is not in the vocabulary"
        case let .invalidVocabulary(path, reason):
            return "invalid vocabulary in \(path): \(reason)"
        case let .unwritableFile(path, reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
