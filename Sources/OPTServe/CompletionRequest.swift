import Foundation
import OPTModel
import OPTTokenizer

/// Limits the server holds requests to.
public struct ServeLimits: Sendable {
    /// Largest `max_tokens`.
    public var maxTokens = 2048
    /// Largest `n`.
    public var maxChoices = 16
    /// Most prompts in one request.
    public var maxPrompts = 64
    /// Largest `logprobs` (alternatives per token).
    public var maxLogprobs = 20
    /// How long a client may take to send a request's head (from the connection opening or the
    /// previous response), and how long its body may pause; then the connection is closed.
    public var readTimeout: Duration = .seconds(30)
    public init() {}
}

/// A `/v1/completions` or `/v1/chat/completions` body, checked and tokenized.
struct CompletionRequest {
    struct Prompt {
        var ids: [Int]
        /// The prompt's text as echoed back: a text prompt as sent, a token-id prompt decoded with
        /// its special tokens spelled out (`</s>` included), as vLLM echoes them.
        var text: String
        /// Leading ids the tokenizer added to a text prompt (OPT's BOS): echoed as tokens, but not
        /// part of `text`, so they take no room in `text_offset`.
        var added = 0
    }

    var prompts: [Prompt]
    var maxTokens: Int
    var n: Int
    var parameters: GenerationParameters
    /// Whether the request gave a seed (choices of a seeded request draw from seed + index).
    var seeded: Bool
    var logprobs: Int?
    var echo: Bool
    var stream: Bool
    var includeUsage: Bool

    /// Reads a completions body; `chat` reads `messages` instead of `prompt`.
    init(json: Any, chat: Bool, tokenizer: BPETokenizer, contextLength: Int, vocabularySize: Int, limits: ServeLimits) throws {
        guard let body = json as? [String: Any] else { throw APIError("the request body must be a JSON object") }
        let reader = FieldReader(body: body)
        if chat {
            let text = try ChatTemplate.prompt(messages: body["messages"])
            prompts = [Prompt(ids: tokenizer.encode(text), text: text)]
        } else {
            // vLLM's extension: false tokenizes a text prompt without BOS.
            let addSpecialTokens = try reader.bool("add_special_tokens") ?? true
            prompts = try Self.prompts(body["prompt"], tokenizer: tokenizer, addSpecialTokens: addSpecialTokens,
                                       vocabularySize: vocabularySize, limits: limits)
        }
        maxTokens = try reader.int("max_tokens", chat ? "max_completion_tokens" : nil) ?? 16
        guard (0...limits.maxTokens).contains(maxTokens) else {
            throw APIError.invalid("max_tokens", "max_tokens must be between 0 and \(limits.maxTokens), got \(maxTokens)")
        }
        n = try reader.int("n") ?? 1
        guard (1...limits.maxChoices).contains(n) else { throw APIError.invalid("n", "n must be between 1 and \(limits.maxChoices), got \(n)") }
        var p = GenerationParameters()
        p.temperature = Float(try reader.number("temperature") ?? 1)
        guard p.temperature >= 0, p.temperature <= 2 else { throw APIError.invalid("temperature", "temperature must be between 0 and 2") }
        p.topP = Float(try reader.number("top_p") ?? 1)
        guard p.topP > 0, p.topP <= 1 else { throw APIError.invalid("top_p", "top_p must be in (0, 1]") }
        p.topK = try reader.int("top_k") ?? 0
        guard p.topK >= 0 || p.topK == -1 else { throw APIError.invalid("top_k", "top_k must be -1, 0 (off) or positive") }
        p.topK = max(p.topK, 0)
        p.repetitionPenalty = Float(try reader.number("repetition_penalty") ?? 1)
        guard p.repetitionPenalty > 0 else { throw APIError.invalid("repetition_penalty", "repetition_penalty must be positive") }
        let seed = try reader.int("seed")
        seeded = seed != nil
        p.seed = UInt64(bitPattern: Int64(seed ?? Int.random(in: 0...Int.max)))
        p.stop = try reader.stop()
        p.maxNewTokens = max(maxTokens, 1)
        parameters = p
        if chat {
            let wanted = try reader.bool("logprobs") == true, top = try reader.int("top_logprobs")
            // OpenAI refuses alternatives without the log-probabilities they go with.
            if top != nil && !wanted { throw APIError.invalid("top_logprobs", "top_logprobs requires logprobs to be true") }
            logprobs = wanted ? (top ?? 0) : nil
            echo = false
        } else {
            logprobs = try reader.int("logprobs")
            echo = try reader.bool("echo") ?? false
        }
        if let logprobs, !(0...limits.maxLogprobs).contains(logprobs) {
            throw APIError.invalid("logprobs", "logprobs must be between 0 and \(limits.maxLogprobs), got \(logprobs)")
        }
        stream = try reader.bool("stream") ?? false
        includeUsage = try (body["stream_options"] as? [String: Any]).map { try FieldReader(body: $0).bool("include_usage") ?? false } ?? false
        if maxTokens == 0 && !echo { throw APIError.invalid("max_tokens", "max_tokens 0 returns nothing unless echo is set") }
        for prompt in prompts where prompt.ids.count + maxTokens > contextLength {
            throw APIError(
                "This model's maximum context length is \(contextLength) tokens, however you requested \(prompt.ids.count + maxTokens) tokens (\(prompt.ids.count) in your prompt; \(maxTokens) for the completion). Please reduce your prompt or max_tokens.",
                param: "prompt", code: "context_length_exceeded")
        }
    }

    /// `prompt` as a string, a list of strings, a list of token ids or a list of token-id lists.
    /// Text is tokenized as vLLM does (with the tokenizer's special tokens, OPT's BOS, unless
    /// `addSpecialTokens` is false); token ids are taken as given, nothing added.
    static func prompts(_ value: Any?, tokenizer: BPETokenizer, addSpecialTokens: Bool, vocabularySize: Int,
                        limits: ServeLimits) throws -> [Prompt] {
        func text(_ s: String) throws -> Prompt {
            guard !s.isEmpty else { throw APIError.invalid("prompt", "the prompt is empty") }
            let ids = tokenizer.encode(s, addBOS: addSpecialTokens)
            let added = addSpecialTokens ? ids.count - tokenizer.encode(s, addBOS: false).count : 0
            return Prompt(ids: ids, text: s, added: added)
        }
        func ids(_ list: [Any]) throws -> Prompt {
            let values = try list.map { item -> Int in
                guard let number = item as? NSNumber, !CFBooleanCheck.isBool(item), let id = Int(exactly: number.doubleValue) else {
                    throw APIError.invalid("prompt", "a token-id prompt must hold integers only")
                }
                guard (0..<vocabularySize).contains(id) else {
                    throw APIError.invalid("prompt", "token id \(id) is outside the vocabulary (0..<\(vocabularySize))")
                }
                return id
            }
            guard !values.isEmpty else { throw APIError.invalid("prompt", "the prompt is empty") }
            return Prompt(ids: values, text: tokenizer.decode(values))
        }
        let prompts: [Prompt]
        switch value {
        case let s as String: prompts = [try text(s)]
        case let list as [Any] where list.isEmpty: throw APIError.invalid("prompt", "the prompt list is empty")
        case let list as [Any] where list.allSatisfy({ $0 is String }): prompts = try list.map { try text($0 as! String) }
        case let list as [Any] where list.allSatisfy({ $0 is [Any] }): prompts = try list.map { try ids($0 as! [Any]) }
        case let list as [Any]: prompts = [try ids(list)]
        case nil: throw APIError.invalid("prompt", "prompt is required")
        default: throw APIError.invalid("prompt", "prompt must be a string, a list of strings, a list of token ids or a list of lists of token ids")
        }
        guard prompts.count <= limits.maxPrompts else { throw APIError.invalid("prompt", "at most \(limits.maxPrompts) prompts per request") }
        return prompts
    }
}

/// Typed reads of optional fields, with an error naming the field.
struct FieldReader {
    let body: [String: Any]

    func value(_ key: String) -> Any? {
        guard let v = body[key], !(v is NSNull) else { return nil }
        return v
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v as? String else { throw APIError.invalid(key, "\(key) must be a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v as? Bool, CFBooleanCheck.isBool(v) else { throw APIError.invalid(key, "\(key) must be true or false") }
        return b
    }

    func number(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let n = v as? NSNumber, !CFBooleanCheck.isBool(v), n.doubleValue.isFinite else { throw APIError.invalid(key, "\(key) must be a number") }
        return n.doubleValue
    }

    /// An integer under `key` (or its alias).
    func int(_ key: String, _ alias: String? = nil) throws -> Int? {
        let name = value(key) != nil ? key : (alias ?? key)
        guard let d = try number(name) else { return nil }
        guard let i = Int(exactly: d) else { throw APIError.invalid(name, "\(name) must be an integer") }
        return i
    }

    /// `stop`: a string or a list of up to 4 strings.
    func stop() throws -> [String] {
        switch value("stop") {
        case nil: return []
        case let s as String: return s.isEmpty ? [] : [s]
        case let list as [Any] where list.count <= 4 && list.allSatisfy({ $0 is String }): return (list as! [String]).filter { !$0.isEmpty }
        default: throw APIError.invalid("stop", "stop must be a string or a list of at most 4 strings")
        }
    }
}

/// Tells JSON booleans from numbers (both arrive as NSNumber).
enum CFBooleanCheck {
    static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }
}

/// The plain prompt OPT-IML answers chat messages with (it is not a chat model): the system
/// message, then the turns separated by "\n\n\n" (the MetaICL separator of its training), each user
/// turn followed by "\nAnswer:" unless it ends with ":", each assistant turn as " " + its text.
/// The prompt ends after the last user turn's delimiter.
public enum ChatTemplate {
    public static func prompt(messages value: Any?) throws -> String {
        guard let messages = value as? [Any], !messages.isEmpty else {
            throw APIError.invalid("messages", "messages must be a non-empty list of {role, content}")
        }
        var system: [String] = [], turns: [String] = []
        for (index, item) in messages.enumerated() {
            guard let message = item as? [String: Any], let role = message["role"] as? String else {
                throw APIError.invalid("messages", "messages[\(index)] must be an object with a role")
            }
            let content: String
            if let text = message["content"] as? String {
                content = text
            } else if let parts = message["content"] as? [[String: Any]] {
                let texts = parts.compactMap { $0["type"] as? String == "text" ? $0["text"] as? String : nil }
                // Only text reaches the model: a message of images alone would leave a turn of nothing.
                guard !texts.isEmpty else {
                    throw APIError.invalid("messages", "messages[\(index)] has no text content (this model reads text parts only)")
                }
                content = texts.joined()
            } else {
                throw APIError.invalid("messages", "messages[\(index)].content must be a string or a list of text parts")
            }
            switch role {
            case "system", "developer": system.append(content)
            case "user": turns.append(content.hasSuffix(":") ? content : content + "\nAnswer:")
            case "assistant":
                guard !turns.isEmpty else { turns.append(" " + content); continue }
                turns[turns.count - 1] += " " + content
            default: throw APIError.invalid("messages", "messages[\(index)].role must be system, user or assistant, got \(role)")
            }
        }
        guard let last = messages.last as? [String: Any], last["role"] as? String == "user" else {
            throw APIError.invalid("messages", "the last message must be the user's")
        }
        let head = system.isEmpty ? "" : system.joined(separator: "\n") + "\n\n"
        return head + turns.joined(separator: "\n\n\n")
    }
}
