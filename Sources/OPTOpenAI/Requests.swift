// The request bodies of completions and chat completions, written once: the server decodes these, the
// evaluation backend encodes them. A field that is absent or null is nil (its default is the server's
// to apply); a field of the wrong type is an `InvalidRequestField` naming it, so that the server answers
// OpenAI's 400 with `param` set. Ranges are the server's to check: they depend on its limits and model.

/// A request field that does not hold what the API allows: which field, and why.
public struct InvalidRequestField: Error, Equatable, Sendable {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
}

/// The `model` of a request body, read alone: a server checks it before anything else, as vLLM does,
/// so that a request for another model hears that whatever else is wrong with it.
public struct RequestedModel: Decodable, Sendable {
    public var model: String?

    public init(from decoder: any Decoder) throws {
        model = try decoder.container(keyedBy: RequestKey.self).string("model")
    }
}

/// `prompt`: a string, a list of strings, a list of token ids or a list of token-id lists.
public enum PromptInput: Codable, Sendable, Equatable {
    case text(String)
    case texts([String])
    case tokens([Int])
    case tokenLists([[Int]])

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let text = try? value.decode(String.self) {
            self = .text(text)
        } else if (try? decoder.unkeyedContainer()) == nil {
            throw InvalidRequestField("prompt", "prompt must be a string, a list of strings, a list of token ids or a list of lists of token ids")
        } else if let texts = try? value.decode([String].self) {
            // The empty list lands here; the server refuses it as an empty prompt list.
            self = .texts(texts)
        } else if let lists = try? value.decode([[Int]].self) {
            self = .tokenLists(lists)
        } else if let ids = try? value.decode([Int].self) {
            self = .tokens(ids)
        } else {
            throw InvalidRequestField("prompt", "a token-id prompt must hold integers only")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var value = encoder.singleValueContainer()
        switch self {
        case let .text(text): try value.encode(text)
        case let .texts(texts): try value.encode(texts)
        case let .tokens(ids): try value.encode(ids)
        case let .tokenLists(lists): try value.encode(lists)
        }
    }
}

/// `stream_options`.
public struct StreamOptions: Codable, Sendable, Equatable {
    /// Whether a stream ends with a chunk holding the usage.
    public var includeUsage: Bool?

    public init(includeUsage: Bool? = nil) { self.includeUsage = includeUsage }

    public init(from decoder: any Decoder) throws {
        guard let container = try? decoder.container(keyedBy: RequestKey.self) else {
            throw InvalidRequestField("stream_options", "stream_options must be an object")
        }
        includeUsage = try container.bool("include_usage")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: RequestKey.self)
        try container.encodeIfPresent(includeUsage, forKey: "include_usage")
    }
}

/// What completions and chat completions requests share: how much to generate, how to sample, how to answer.
public struct SamplingOptions: Codable, Sendable, Equatable {
    public var maxTokens: Int?
    public var n: Int?
    public var temperature: Double?
    public var topP: Double?
    /// vLLM's extension; -1 or 0 turns it off.
    public var topK: Int?
    /// vLLM's extension.
    public var repetitionPenalty: Double?
    public var seed: Int?
    /// Sent as a string or a list of at most 4 strings; read as the list.
    public var stop: [String]?
    public var stream: Bool?
    public var streamOptions: StreamOptions?

    public init(maxTokens: Int? = nil, n: Int? = nil, temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil,
                repetitionPenalty: Double? = nil, seed: Int? = nil, stop: [String]? = nil, stream: Bool? = nil,
                streamOptions: StreamOptions? = nil) {
        self.maxTokens = maxTokens
        self.n = n
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
        self.stop = stop
        self.stream = stream
        self.streamOptions = streamOptions
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: RequestKey.self)
        maxTokens = try container.integer("max_tokens")
        n = try container.integer("n")
        temperature = try container.number("temperature")
        topP = try container.number("top_p")
        topK = try container.integer("top_k")
        repetitionPenalty = try container.number("repetition_penalty")
        seed = try container.integer("seed")
        stop = try container.stop()
        stream = try container.bool("stream")
        streamOptions = try container.decodeIfPresent(StreamOptions.self, forKey: "stream_options")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: RequestKey.self)
        try container.encodeIfPresent(maxTokens, forKey: "max_tokens")
        try container.encodeIfPresent(n, forKey: "n")
        try container.encodeIfPresent(temperature, forKey: "temperature")
        try container.encodeIfPresent(topP, forKey: "top_p")
        try container.encodeIfPresent(topK, forKey: "top_k")
        try container.encodeIfPresent(repetitionPenalty, forKey: "repetition_penalty")
        try container.encodeIfPresent(seed, forKey: "seed")
        try container.encodeIfPresent(stop, forKey: "stop")
        try container.encodeIfPresent(stream, forKey: "stream")
        try container.encodeIfPresent(streamOptions, forKey: "stream_options")
    }
}

/// A `/v1/completions` body.
public struct CompletionRequestBody: Codable, Sendable, Equatable {
    public var model: String?
    public var prompt: PromptInput
    public var sampling: SamplingOptions
    /// How many alternatives to return per token with its log-probability (nil: no log-probabilities).
    public var logprobs: Int?
    /// Whether the prompt's tokens come back before the completion's.
    public var echo: Bool?
    /// vLLM's extension: false tokenizes a text prompt without BOS.
    public var addSpecialTokens: Bool?

    public init(model: String? = nil, prompt: PromptInput, sampling: SamplingOptions = SamplingOptions(), logprobs: Int? = nil,
                echo: Bool? = nil, addSpecialTokens: Bool? = nil) {
        self.model = model
        self.prompt = prompt
        self.sampling = sampling
        self.logprobs = logprobs
        self.echo = echo
        self.addSpecialTokens = addSpecialTokens
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: RequestKey.self)
        model = try container.string("model")
        addSpecialTokens = try container.bool("add_special_tokens")
        guard let prompt = try container.decodeIfPresent(PromptInput.self, forKey: "prompt") else {
            throw InvalidRequestField("prompt", "prompt is required")
        }
        self.prompt = prompt
        sampling = try SamplingOptions(from: decoder)
        logprobs = try container.integer("logprobs")
        echo = try container.bool("echo")
    }

    public func encode(to encoder: any Encoder) throws {
        try sampling.encode(to: encoder)
        var container = encoder.container(keyedBy: RequestKey.self)
        try container.encodeIfPresent(model, forKey: "model")
        try container.encode(prompt, forKey: "prompt")
        try container.encodeIfPresent(logprobs, forKey: "logprobs")
        try container.encodeIfPresent(echo, forKey: "echo")
        try container.encodeIfPresent(addSpecialTokens, forKey: "add_special_tokens")
    }
}

/// A message of a chat request: its content is a string or a list of parts (text, images, …).
public struct ChatRequestMessage: Codable, Sendable, Equatable {
    /// A content part; only text parts carry anything a text model reads.
    public struct Part: Codable, Sendable, Equatable {
        public var type: String?
        public var text: String?

        public init(type: String?, text: String?) {
            self.type = type
            self.text = text
        }

        /// Parts of other types have other fields (`image_url`, …); a part is only checked for being an object.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: RequestKey.self)
            type = try? container.decodeIfPresent(String.self, forKey: "type")
            text = try? container.decodeIfPresent(String.self, forKey: "text")
        }
    }

    public enum Content: Codable, Sendable, Equatable {
        case text(String)
        case parts([Part])

        public init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let text = try? value.decode(String.self) {
                self = .text(text)
            } else {
                self = .parts(try value.decode([Part].self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var value = encoder.singleValueContainer()
            switch self {
            case let .text(text): try value.encode(text)
            case let .parts(parts): try value.encode(parts)
            }
        }
    }

    public var role: String
    public var content: Content

    public init(role: String, content: String) {
        self.role = role
        self.content = .text(content)
    }

    /// Errors name the message by its index in `messages`.
    public init(from decoder: any Decoder) throws {
        let name = "messages[\(decoder.codingPath.last?.intValue ?? 0)]"
        guard let container = try? decoder.container(keyedBy: RequestKey.self),
              let role = try? container.decode(String.self, forKey: "role") else {
            throw InvalidRequestField("messages", "\(name) must be an object with a role")
        }
        self.role = role
        guard let content = try? container.decode(Content.self, forKey: "content") else {
            throw InvalidRequestField("messages", "\(name).content must be a string or a list of text parts")
        }
        self.content = content
    }
}

/// A `/v1/chat/completions` body.
public struct ChatCompletionRequestBody: Codable, Sendable, Equatable {
    public var model: String?
    public var messages: [ChatRequestMessage]
    public var sampling: SamplingOptions
    /// Whether each token comes with its log-probability.
    public var logprobs: Bool?
    /// How many alternatives come with each (requires `logprobs`).
    public var topLogprobs: Int?

    public init(model: String? = nil, messages: [ChatRequestMessage], sampling: SamplingOptions = SamplingOptions(),
                logprobs: Bool? = nil, topLogprobs: Int? = nil) {
        self.model = model
        self.messages = messages
        self.sampling = sampling
        self.logprobs = logprobs
        self.topLogprobs = topLogprobs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: RequestKey.self)
        model = try container.string("model")
        do {
            messages = try container.decode([ChatRequestMessage].self, forKey: "messages")
        } catch let error as InvalidRequestField {
            throw error
        } catch {
            throw InvalidRequestField("messages", "messages must be a non-empty list of {role, content}")
        }
        sampling = try SamplingOptions(from: decoder)
        // OpenAI's newer name for max_tokens, read when max_tokens is not sent.
        if sampling.maxTokens == nil { sampling.maxTokens = try container.integer("max_completion_tokens") }
        logprobs = try container.bool("logprobs")
        topLogprobs = try container.integer("top_logprobs")
    }

    public func encode(to encoder: any Encoder) throws {
        try sampling.encode(to: encoder)
        var container = encoder.container(keyedBy: RequestKey.self)
        try container.encodeIfPresent(model, forKey: "model")
        try container.encode(messages, forKey: "messages")
        try container.encodeIfPresent(logprobs, forKey: "logprobs")
        try container.encodeIfPresent(topLogprobs, forKey: "top_logprobs")
    }
}

/// A request body's keys, by their wire names (the types above share most of them).
struct RequestKey: CodingKey, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(stringLiteral value: String) { stringValue = value }
}

/// Reads of optional fields whose failures name the field: JSON booleans are not numbers, nor numbers booleans.
extension KeyedDecodingContainer where Key == RequestKey {
    func string(_ key: Key) throws -> String? {
        do { return try decodeIfPresent(String.self, forKey: key) } catch {
            throw InvalidRequestField(key.stringValue, "\(key.stringValue) must be a string")
        }
    }

    func bool(_ key: Key) throws -> Bool? {
        do { return try decodeIfPresent(Bool.self, forKey: key) } catch {
            throw InvalidRequestField(key.stringValue, "\(key.stringValue) must be true or false")
        }
    }

    func number(_ key: Key) throws -> Double? {
        do { return try decodeIfPresent(Double.self, forKey: key) } catch {
            throw InvalidRequestField(key.stringValue, "\(key.stringValue) must be a number")
        }
    }

    /// An integer; a number with a fraction (or beyond Int) is told apart from something not a number.
    func integer(_ key: Key) throws -> Int? {
        do { return try decodeIfPresent(Int.self, forKey: key) } catch {
            let value = try number(key)
            if let value, value == value.rounded() {
                throw InvalidRequestField(key.stringValue, "\(key.stringValue) must be an integer between \(Int.min) and \(Int.max)")
            }
            throw InvalidRequestField(key.stringValue, "\(key.stringValue) must be an integer")
        }
    }

    /// `stop`: a string or a list of at most 4 strings, as the list.
    func stop() throws -> [String]? {
        guard contains("stop"), try !decodeNil(forKey: "stop") else { return nil }
        if let text = try? decode(String.self, forKey: "stop") { return [text] }
        if let list = try? decode([String].self, forKey: "stop"), list.count <= 4 { return list }
        throw InvalidRequestField("stop", "stop must be a string or a list of at most 4 strings")
    }
}
