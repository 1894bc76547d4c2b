import Foundation

// OpenAI's completions and chat completions responses, written once: the server encodes these, the
// evaluation backend decodes them (Requests.swift has the request bodies). Keys that OpenAI (and
// vLLM) send as `null` are encoded as null, not left out, since clients such as
// lm-evaluation-harness index them.

/// `usage`: tokens of the prompts and of what was generated.
public struct Usage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        totalTokens = promptTokens + completionTokens
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
    }
}

/// A completions choice's `logprobs`: per token its text, log-probability (null for the first prompt
/// token, which nothing predicts), the top alternatives and its offset in the returned text.
public struct CompletionLogprobs: Codable, Sendable, Equatable {
    public var tokens: [String] = []
    public var tokenLogprobs: [Double?] = []
    public var topLogprobs: [[String: Double]?] = []
    public var textOffset: [Int] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case tokens
        case tokenLogprobs = "token_logprobs"
        case topLogprobs = "top_logprobs"
        case textOffset = "text_offset"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tokens, forKey: .tokens)
        var values = container.nestedUnkeyedContainer(forKey: .tokenLogprobs)
        for value in tokenLogprobs { if let value { try values.encode(value) } else { try values.encodeNil() } }
        var tops = container.nestedUnkeyedContainer(forKey: .topLogprobs)
        for top in topLogprobs { if let top { try tops.encode(top) } else { try tops.encodeNil() } }
        try container.encode(textOffset, forKey: .textOffset)
    }
}

/// One choice of a completion (whole, or a streamed chunk's piece of it).
public struct CompletionChoice: Codable, Sendable, Equatable {
    public var index: Int
    public var text: String
    public var finishReason: String?
    public var logprobs: CompletionLogprobs?
    /// A streamed choice that failed: why (its finish reason is "error").
    public var error: String?

    public init(index: Int, text: String, finishReason: String? = nil, logprobs: CompletionLogprobs? = nil, error: String? = nil) {
        self.index = index
        self.text = text
        self.finishReason = finishReason
        self.logprobs = logprobs
        self.error = error
    }

    /// What a client needs is the text and the log-probabilities; other servers may leave out the index.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        index = try container.decodeIfPresent(Int.self, forKey: .index) ?? 0
        text = try container.decode(String.self, forKey: .text)
        finishReason = try container.decodeIfPresent(String.self, forKey: .finishReason)
        logprobs = try container.decodeIfPresent(CompletionLogprobs.self, forKey: .logprobs)
        error = try container.decodeIfPresent(String.self, forKey: .error)
    }

    enum CodingKeys: String, CodingKey {
        case index, text, logprobs, error
        case finishReason = "finish_reason"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(text, forKey: .text)
        try container.encode(finishReason, forKey: .finishReason)
        try container.encode(logprobs, forKey: .logprobs)
        try container.encodeIfPresent(error, forKey: .error)
    }
}

/// A chat message.
public struct ChatMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A chat token's log-probability, with its alternatives.
public struct ChatTokenLogprob: Codable, Sendable, Equatable {
    public var token: String
    public var logprob: Double
    public var bytes: [Int]
    /// nil for the alternatives themselves.
    public var topLogprobs: [ChatTokenLogprob]?

    public init(token: String, logprob: Double, topLogprobs: [ChatTokenLogprob]? = nil) {
        self.token = token
        self.logprob = logprob
        bytes = Array(token.utf8).map(Int.init)
        self.topLogprobs = topLogprobs
    }

    enum CodingKeys: String, CodingKey {
        case token, logprob, bytes
        case topLogprobs = "top_logprobs"
    }
}

/// A chat choice's `logprobs`.
public struct ChatLogprobs: Codable, Sendable, Equatable {
    public var content: [ChatTokenLogprob]
    public init(content: [ChatTokenLogprob]) { self.content = content }
}

/// One choice of a chat completion.
public struct ChatChoice: Codable, Sendable, Equatable {
    public var index: Int
    public var message: ChatMessage
    public var finishReason: String?
    public var logprobs: ChatLogprobs?

    public init(index: Int, message: ChatMessage, finishReason: String?, logprobs: ChatLogprobs?) {
        self.index = index
        self.message = message
        self.finishReason = finishReason
        self.logprobs = logprobs
    }

    enum CodingKeys: String, CodingKey {
        case index, message, logprobs
        case finishReason = "finish_reason"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(message, forKey: .message)
        try container.encode(finishReason, forKey: .finishReason)
        try container.encode(logprobs, forKey: .logprobs)
    }
}

/// What a streamed chat choice adds: the role first, then content.
public struct ChatDelta: Codable, Sendable, Equatable {
    public var role: String?
    public var content: String?
    public init(role: String? = nil, content: String? = nil) {
        self.role = role
        self.content = content
    }
}

/// One choice of a streamed chat chunk.
public struct ChatChunkChoice: Codable, Sendable, Equatable {
    public var index: Int
    public var delta: ChatDelta
    public var finishReason: String?
    /// Only when the request asked for log-probabilities.
    public var logprobs: ChatLogprobs?
    /// A choice that failed: why (its finish reason is "error").
    public var error: String?

    public init(index: Int, delta: ChatDelta, finishReason: String? = nil, logprobs: ChatLogprobs? = nil, error: String? = nil) {
        self.index = index
        self.delta = delta
        self.finishReason = finishReason
        self.logprobs = logprobs
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case index, delta, logprobs, error
        case finishReason = "finish_reason"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(delta, forKey: .delta)
        try container.encode(finishReason, forKey: .finishReason)
        try container.encodeIfPresent(logprobs, forKey: .logprobs)
        try container.encodeIfPresent(error, forKey: .error)
    }
}

/// A response body or streamed chunk: `text_completion`, `chat.completion` or `chat.completion.chunk`,
/// its choices of type `Choice`, and `usage` where there is one.
public struct CompletionResponse<Choice: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var id: String
    public var object: String
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?

    public init(id: String, object: String, created: Int, model: String, choices: [Choice], usage: Usage? = nil) {
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }

    /// A client reads the choices; servers that leave out the rest are still read.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
        object = try container.decodeIfPresent(String.self, forKey: .object) ?? ""
        created = try container.decodeIfPresent(Int.self, forKey: .created) ?? 0
        model = try container.decodeIfPresent(String.self, forKey: .model) ?? ""
        choices = try container.decode([Choice].self, forKey: .choices)
        usage = try container.decodeIfPresent(Usage.self, forKey: .usage)
    }

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
    }
}

/// A model of `GET /v1/models`.
public struct ModelObject: Codable, Sendable, Equatable {
    public var id: String
    public var object = "model"
    public var created: Int
    public var ownedBy: String

    public init(id: String, created: Int, ownedBy: String) {
        self.id = id
        self.created = created
        self.ownedBy = ownedBy
    }

    enum CodingKeys: String, CodingKey {
        case id, object, created
        case ownedBy = "owned_by"
    }
}

/// `GET /v1/models`.
public struct ModelList: Codable, Sendable, Equatable {
    public var object = "list"
    public var data: [ModelObject]
    public init(data: [ModelObject]) { self.data = data }
}

/// An error body, `{"error": {message, type, param, code}}` (param and code null when absent).
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var message: String
        public var type: String
        public var param: String?
        public var code: String?

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(type, forKey: .type)
            try container.encode(param, forKey: .param)
            try container.encode(code, forKey: .code)
        }
    }
    public var error: Detail

    public init(message: String, type: String, param: String?, code: String?) {
        error = Detail(message: message, type: type, param: param, code: code)
    }
}

/// How the wire types are written: keys sorted, slashes as they are.
public enum WireJSON {
    public static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every type here encodes; a failure would be a programming error caught by the tests.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }
}
