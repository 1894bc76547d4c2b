import OPTModel
import OPTOpenAI
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

    /// A completions body, checked against the model and the limits.
    init(_ body: CompletionRequestBody, tokenizer: BPETokenizer, contextLength: Int, vocabularySize: Int, limits: ServeLimits) throws {
        let prompts = try Self.prompts(body.prompt, tokenizer: tokenizer, addSpecialTokens: body.addSpecialTokens ?? true,
                                       vocabularySize: vocabularySize, limits: limits)
        try self.init(prompts: prompts, sampling: body.sampling, logprobs: body.logprobs, logprobsField: "logprobs",
                      echo: body.echo ?? false, contextLength: contextLength, limits: limits)
    }

    /// A chat completions body: its messages become one prompt (see `ChatTemplate`).
    init(_ body: ChatCompletionRequestBody, tokenizer: BPETokenizer, contextLength: Int, limits: ServeLimits) throws {
        let text = try ChatTemplate.prompt(messages: body.messages)
        let wanted = body.logprobs == true
        // OpenAI refuses alternatives without the log-probabilities they go with.
        if body.topLogprobs != nil && !wanted { throw APIError.invalid("top_logprobs", "top_logprobs requires logprobs to be true") }
        try self.init(prompts: [Prompt(ids: tokenizer.encode(text), text: text)], sampling: body.sampling,
                      logprobs: wanted ? (body.topLogprobs ?? 0) : nil, logprobsField: "top_logprobs", echo: false,
                      contextLength: contextLength, limits: limits)
    }

    /// What both endpoints check: OpenAI's defaults applied (`max_tokens` 16, or the server's limit if lower), each
    /// value within its range and the limits. `logprobsField` names the alternatives' count as the endpoint spells it.
    private init(prompts: [Prompt], sampling: SamplingOptions, logprobs: Int?, logprobsField: String, echo: Bool, contextLength: Int,
                 limits: ServeLimits) throws {
        self.prompts = prompts
        maxTokens = sampling.maxTokens ?? min(16, limits.maxTokens)
        guard (0...limits.maxTokens).contains(maxTokens) else {
            throw APIError.invalid("max_tokens", "max_tokens must be between 0 and \(limits.maxTokens), got \(maxTokens)")
        }
        n = sampling.n ?? 1
        guard (1...limits.maxChoices).contains(n) else { throw APIError.invalid("n", "n must be between 1 and \(limits.maxChoices), got \(n)") }
        var p = GenerationParameters()
        p.temperature = Float(sampling.temperature ?? 1)
        guard p.temperature >= 0, p.temperature <= 2 else { throw APIError.invalid("temperature", "temperature must be between 0 and 2") }
        p.topP = Float(sampling.topP ?? 1)
        guard p.topP > 0, p.topP <= 1 else {
            // A value in range that f32 rounds to 0 is told so.
            let asked = sampling.topP ?? 1
            throw APIError.invalid("top_p", asked > 0 && asked <= 1 ? "top_p must be at least \(Float.leastNonzeroMagnitude)" : "top_p must be in (0, 1]")
        }
        p.topK = sampling.topK ?? 0
        guard p.topK >= 0 || p.topK == -1 else { throw APIError.invalid("top_k", "top_k must be -1, 0 (off) or positive") }
        p.topK = max(p.topK, 0)
        p.repetitionPenalty = Float(sampling.repetitionPenalty ?? 1)
        guard p.repetitionPenalty > 0 else { throw APIError.invalid("repetition_penalty", "repetition_penalty must be positive") }
        seeded = sampling.seed != nil
        p.seed = UInt64(bitPattern: Int64(sampling.seed ?? Int.random(in: 0...Int.max)))
        p.stop = (sampling.stop ?? []).filter { !$0.isEmpty }
        p.maxNewTokens = max(maxTokens, 1)
        parameters = p
        if let logprobs, !(0...limits.maxLogprobs).contains(logprobs) {
            throw APIError.invalid(logprobsField, "\(logprobsField) must be between 0 and \(limits.maxLogprobs), got \(logprobs)")
        }
        self.logprobs = logprobs
        self.echo = echo
        stream = sampling.stream ?? false
        includeUsage = sampling.streamOptions?.includeUsage ?? false
        if maxTokens == 0 && !echo { throw APIError.invalid("max_tokens", "max_tokens 0 returns nothing unless echo is set") }
        for prompt in prompts where prompt.ids.count + maxTokens > contextLength {
            throw APIError(
                "This model's maximum context length is \(contextLength) tokens, however you requested \(prompt.ids.count + maxTokens) tokens (\(prompt.ids.count) in your prompt; \(maxTokens) for the completion). Please reduce your prompt or max_tokens.",
                param: "prompt", code: "context_length_exceeded")
        }
    }

    /// The prompts of `prompt`. Text is tokenized as vLLM does (with the tokenizer's special tokens,
    /// OPT's BOS, unless `addSpecialTokens` is false); token ids are taken as given, nothing added.
    static func prompts(_ input: PromptInput, tokenizer: BPETokenizer, addSpecialTokens: Bool, vocabularySize: Int,
                        limits: ServeLimits) throws -> [Prompt] {
        func text(_ s: String) throws -> Prompt {
            guard !s.isEmpty else { throw APIError.invalid("prompt", "the prompt is empty") }
            let ids = tokenizer.encode(s, addBOS: addSpecialTokens)
            let added = addSpecialTokens ? ids.count - tokenizer.encode(s, addBOS: false).count : 0
            return Prompt(ids: ids, text: s, added: added)
        }
        func ids(_ values: [Int]) throws -> Prompt {
            guard !values.isEmpty else { throw APIError.invalid("prompt", "the prompt is empty") }
            if let id = values.first(where: { !(0..<vocabularySize).contains($0) }) {
                throw APIError.invalid("prompt", "token id \(id) is outside the vocabulary (0..<\(vocabularySize))")
            }
            return Prompt(ids: values, text: tokenizer.decode(values))
        }
        let prompts: [Prompt]
        switch input {
        case let .text(s): prompts = [try text(s)]
        case .texts([]), .tokenLists([]): throw APIError.invalid("prompt", "the prompt list is empty")
        case let .texts(list): prompts = try list.map(text)
        case let .tokenLists(lists): prompts = try lists.map(ids)
        case let .tokens(list): prompts = [try ids(list)]
        }
        guard prompts.count <= limits.maxPrompts else { throw APIError.invalid("prompt", "at most \(limits.maxPrompts) prompts per request") }
        return prompts
    }
}

/// The plain prompt OPT-IML answers chat messages with (it is not a chat model): the system
/// message, then the turns separated by "\n\n\n" (the MetaICL separator of its training), each user
/// turn followed by "\nAnswer:" unless it ends with ":", each assistant turn as " " + its text.
/// The prompt ends after the last user turn's delimiter.
public enum ChatTemplate {
    public static func prompt(messages: [ChatRequestMessage]) throws -> String {
        guard !messages.isEmpty else { throw APIError.invalid("messages", "messages must be a non-empty list of {role, content}") }
        var system: [String] = [], turns: [String] = []
        for (index, message) in messages.enumerated() {
            let content: String
            switch message.content {
            case let .text(text): content = text
            case let .parts(parts):
                let texts = parts.compactMap { $0.type == "text" ? $0.text : nil }
                // Only text reaches the model: a message of images alone would leave a turn of nothing.
                guard !texts.isEmpty else {
                    throw APIError.invalid("messages", "messages[\(index)] has no text content (this model reads text parts only)")
                }
                content = texts.joined()
            }
            switch message.role {
            case "system", "developer": system.append(content)
            case "user": turns.append(content.hasSuffix(":") ? content : content + "\nAnswer:")
            case "assistant":
                guard !turns.isEmpty else { turns.append(" " + content); continue }
                turns[turns.count - 1] += " " + content
            case let role: throw APIError.invalid("messages", "messages[\(index)].role must be system, user or assistant, got \(role)")
            }
        }
        guard messages.last?.role == "user" else {
            throw APIError.invalid("messages", "the last message must be the user's")
        }
        let head = system.isEmpty ? "" : system.joined(separator: "\n") + "\n\n"
        return head + turns.joined(separator: "\n\n\n")
    }
}
