import CKernels
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import OPTModel
import OPTOpenAI
import OPTSupport
import OPTTokenizer
import ServiceLifecycle

/// The OpenAI-compatible HTTP API over an `Engine`: `/v1/models`, `/v1/completions`,
/// `/v1/chat/completions` (both streaming as server-sent events), `/health` and `/metrics`.
public final class OpenAIServer: Sendable {
    public let engine: Engine
    public let modelName: String
    /// The checkpoint folder, resolved; a request may name the model by it as well as by
    /// `modelName` (lm-evaluation-harness sends its `model=` argument, the folder it loads the
    /// tokenizer from).
    let modelPath: String?
    let apiKey: String?
    let limits: ServeLimits
    let metrics = ServerMetrics()
    /// Where the server's own lines (one per completion request) and Hummingbird's go.
    let logger: Logger
    let created = Int(Date().timeIntervalSince1970)
    /// Request bodies above this size get 413.
    static let maxBodyBytes = 8 << 20

    public init(engine: Engine, modelName: String, modelDirectory: URL? = nil, apiKey: String? = nil, limits: ServeLimits = ServeLimits(),
                logger: Logger = Logger(label: "optiml.serve")) {
        self.engine = engine
        self.logger = logger
        self.modelName = modelName
        modelPath = modelDirectory.map(Self.resolvedPath)
        self.apiKey = apiKey
        self.limits = limits
    }

    static func resolvedPath(_ url: URL) -> String { url.standardizedFileURL.resolvingSymlinksInPath().path }

    /// Whether `name` is this server's model: its name, or a path (absolute, or relative to the
    /// server's working directory) to its checkpoint folder.
    func serves(_ name: String) -> Bool {
        if name == modelName { return true }
        guard let modelPath, !name.isEmpty else { return false }
        return Self.resolvedPath(URL(fileURLWithPath: name, isDirectory: true)) == modelPath
    }

    /// OpenAI's answer for a model it does not have (vLLM answers 404 too).
    func unknownModel(_ name: String) -> APIError {
        APIError(status: 404, "The model `\(name)` does not exist; this server serves `\(modelName)`.", param: "model", code: "model_not_found")
    }

    var modelObject: ModelObject { ModelObject(id: modelName, created: created, ownedBy: "optiml") }

    var tokenizer: BPETokenizer { engine.tokenizer }
    var contextLength: Int { engine.model.config.maxPositionEmbeddings }

    /// The Hummingbird application serving on `host:port` (port 0: any free one, reported to
    /// `onRunning`), with the engine as one of its services: the engine starts with it, and on
    /// graceful shutdown stops after the HTTP server has answered the requests in flight.
    public func application(host: String, port: Int, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        application(host: host, port: port, services: [engine], onRunning: onRunning)
    }

    /// The application with `services` beside the HTTP server (tests leave the engine out to run it themselves).
    func application(host: String, port: Int, services: [any Service], onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router(context: ServingContext.self)
        router.get("/health") { _, _ in Self.json(["status": "ok"]) }
        router.get("/metrics") { [self] _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.render(engine: engine))))
        }
        router.get("/v1/models") { [self] request, _ in
            do { try authorize(request) } catch let error as APIError { return Self.json(error.body, status: error.status) }
            return Self.json(ModelList(data: [modelObject]))
        }
        // The id may be a folder path, so it takes the rest of the path.
        router.get("/v1/models/**") { [self] request, context in
            do { try authorize(request) } catch let error as APIError { return Self.json(error.body, status: error.status) }
            let id = context.parameters.getCatchAll().joined(separator: "/")
            let name = id.removingPercentEncoding ?? id
            // An absolute path's leading slash is lost among the route's empty components.
            guard serves(name) || serves("/" + name) else {
                let error = unknownModel(name)
                return Self.json(error.body, status: error.status)
            }
            return Self.json(modelObject)
        }
        router.post("/v1/completions") { [self] request, context in
            await handle(request, channel: context.channel, endpoint: "/v1/completions", chat: false)
        }
        router.post("/v1/chat/completions") { [self] request, context in
            await handle(request, channel: context.channel, endpoint: "/v1/chat/completions", chat: true)
        }
        // The completion endpoints take POST alone: another method is told so, as an OpenAI error (an empty 404 before).
        for path in ["/v1/completions", "/v1/chat/completions"] {
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
                router.on(RouterPath(path), method: method) { request, _ in
                    var response = Self.json(APIError(status: 405, "\(request.method) is not allowed on \(path): send a POST",
                                                      code: "method_not_allowed").body, status: 405)
                    response.headers[.allow] = "POST"
                    return response
                }
            }
        }
        // Hummingbird's idle timeout is the read timeout: it counts only whole HTTP parts, so a
        // request's head must arrive whole within it (of the connection opening or the previous
        // response), and its body may not pause longer; it never cuts a response being written.
        return Application(
            router: router, server: .http1(configuration: .init(idleTimeout: .init(limits.readTimeout))),
            configuration: .init(address: .hostname(host, port: port), serverName: "optiml"),
            services: services,
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    private func authorize(_ request: Request) throws {
        guard let apiKey else { return }
        guard request.headers[.authorization] == "Bearer \(apiKey)" else {
            throw APIError(status: 401, "Incorrect or missing API key: send it as \"Authorization: Bearer KEY\".", code: "invalid_api_key")
        }
    }

    /// Parses, runs and answers a completion request; every failure becomes an OpenAI error body.
    /// (A streamed response counts in the metrics when its headers go out.)
    private func handle(_ request: Request, channel: any Channel, endpoint: String, chat: Bool) async -> Response {
        let started = Date()
        metrics.begin()
        let response: Response
        do {
            try authorize(request)
            // A client that disconnects cancels the work (and its sequences, at the next token).
            // Inside, the connection closes with the response, so a body refused unread is not
            // read after it either.
            response = try await request.body.consumeWithCancellationOnInboundClose { [self] body in
                try checkDeclaredBody(request.headers)
                let parsed = try await parse(body, chat: chat)
                let streams = try submit(parsed)
                if parsed.stream {
                    return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                                    body: .init(asyncSequence: eventStream(parsed, streams: streams, chat: chat, started: started)))
                }
                let results = try await collect(parsed, streams: streams, started: started)
                return chat ? Self.json(chatBody(parsed, results)) : Self.json(completionBody(parsed, results))
            }
        } catch let error as APIError {
            response = Self.json(error.body, status: error.status)
        } catch EngineError.queueFull(let limit) {
            response = Self.json(APIError(status: 429, "The server is busy (\(limit) requests queued); retry later.", type: "rate_limit_error").body, status: 429)
        } catch let EngineError.exceedsMemoryBudget(needed, budget) {
            // Waiting would not help: the sequence needs more than the whole budget on its own.
            let mebibytes = { (bytes: Int) in String(format: "%.2f MiB", Double(bytes) / Double(1 << 20)) }
            let error = APIError("This request needs \(mebibytes(needed)) for its KV cache and prompt (prompt plus max_tokens), more than the server's memory budget of \(mebibytes(budget)); shorten the prompt or lower max_tokens.",
                                 code: "context_length_exceeded")
            response = Self.json(error.body, status: error.status)
        } catch EngineError.shuttingDown {
            response = Self.json(APIError(status: 503, "The server is shutting down.", type: "server_error").body, status: 503)
        } catch is CancellationError {
            // The client went away; nobody reads this.
            response = Self.json(APIError(status: 499, "client closed the request").body, status: 499)
        } catch {
            response = Self.json(APIError(status: 500, "\(error)", type: "server_error").body, status: 500)
        }
        let seconds = Date().timeIntervalSince(started)
        metrics.request(endpoint: endpoint, status: Int(response.status.code), seconds: seconds)
        // The access line: a server failure is an error, anything else information.
        logger.log(level: response.status.code >= 500 ? .error : .info, "POST \(endpoint) \(response.status.code)",
                   metadata: ["seconds": "\(String(format: "%.3f", seconds))"])
        // Watching for a client that leaves ends the connection with the response; saying so keeps
        // keep-alive clients from sending their next request on a connection that is closing. The watch
        // has read the head of any request pipelined behind this one, so Hummingbird would wait on that
        // request's rest forever, holding the connection: the connection's output is closed once the
        // response is written (NIO sends what is pending first; closing its input instead cut long
        // answers short), and the client, seeing the end, closes the rest.
        var closing = response
        closing.headers[.connection] = "close"
        let body = response.body
        closing.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer {
                channel.close(mode: .output, promise: nil)
                // Encoding a large answer (log-probabilities of many tokens) takes ten times its size in short-lived
                // objects, which glibc keeps from the system once freed: an idle server would hold them.
                if (body.contentLength ?? 0) > Self.trimAfterBytes { ck_release_free_memory() }
            }
            try await body.write(writer)
        }
        return closing
    }

    static let bodyTooLarge = APIError(status: 413, "the request body is larger than \(maxBodyBytes) bytes")

    /// Answers from this size on give the memory that encoding them took back to the system.
    static let trimAfterBytes = 4 << 20

    /// Hummingbird's basic context and the request's connection, which a completion closes behind it.
    struct ServingContext: RequestContext {
        var coreContext: CoreRequestContextStorage
        let channel: any Channel

        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            channel = source.channel
        }
    }

    /// What the headers say about the body, checked before reading it: a declared length over the
    /// limit is refused at once (413) rather than read up to the limit, and a body that is not JSON
    /// by its media type gets 415. No Content-Type is read as JSON, as vLLM (FastAPI) does;
    /// `application/json` may carry parameters (`; charset=utf-8`), and `application/*+json` is JSON too.
    private func checkDeclaredBody(_ headers: HTTPFields) throws {
        // A length beyond Int's range is still a length: digits only, NIO's parser saw to that.
        if let length = headers[.contentLength], (Int(length) ?? .max) > Self.maxBodyBytes { throw Self.bodyTooLarge }
        guard let contentType = headers[.contentType] else { return }
        let mediaType = (contentType.split(separator: ";", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
            throw APIError(status: 415, "the request body must be JSON (Content-Type: application/json), got \(contentType)",
                           code: "unsupported_media_type")
        }
    }

    private func parse(_ body: RequestBody, chat: Bool) async throws -> CompletionRequest {
        let buffer: ByteBuffer
        do { buffer = try await body.collect(upTo: Self.maxBodyBytes) } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw Self.bodyTooLarge
        } catch {
            // The client stopped sending (the read timeout closed the connection, or it left): 408,
            // which the metrics then count, not 413.
            throw APIError(status: 408, "the request body did not arrive in full", code: "request_timeout")
        }
        let data = Data(buffer.readableBytesView)
        guard String(data: data, encoding: .utf8) != nil else { throw APIError("the request body is not valid UTF-8") }
        // Foundation's decoder lets a comma before `}` or `]` pass; JSON (and OpenAI) does not.
        if let offset = StrictJSON.trailingComma(in: data) {
            throw APIError("the request body is not valid JSON: a trailing comma at byte \(offset)")
        }
        let decoder = JSONDecoder()
        do {
            // The model first, as vLLM checks it: a request for another model hears that, whatever else is wrong.
            if let model = try decoder.decode(RequestedModel.self, from: data).model, !serves(model) { throw unknownModel(model) }
            let vocabularySize = engine.model.config.vocabSize
            return chat
                ? try CompletionRequest(decoder.decode(ChatCompletionRequestBody.self, from: data), tokenizer: tokenizer,
                                        contextLength: contextLength, limits: limits)
                : try CompletionRequest(decoder.decode(CompletionRequestBody.self, from: data), tokenizer: tokenizer,
                                        contextLength: contextLength, vocabularySize: vocabularySize, limits: limits)
        } catch let error as InvalidRequestField {
            throw APIError.invalid(error.field, error.message)
        } catch let error as DecodingError {
            // Every field's own failure is an InvalidRequestField; what is left is the body itself.
            if case .dataCorrupted = error { throw APIError("the request body is \(DecodingProblem.describe(error, json: data))") }
            throw APIError("the request body must be a JSON object")
        }
    }

    /// One engine sequence per (prompt, choice), in OpenAI's choice order; all or none are queued.
    private func submit(_ r: CompletionRequest) throws -> [AsyncStream<SequenceEvent>] {
        // More sequences than an idle engine takes would be refused as "busy" however long the client waited.
        let sequences = r.prompts.count * r.n, capacity = engine.maxQueue + engine.maxBatch
        guard sequences <= capacity else {
            throw APIError.invalid(r.prompts.count > 1 ? "prompt" : "n",
                                   "this request needs \(sequences) sequences (\(r.prompts.count) prompts × n = \(r.n)), more than the server holds at once (\(capacity): --max-queue \(engine.maxQueue) and --max-batch \(engine.maxBatch)); send fewer prompts or a smaller n")
        }
        var streams: [AsyncStream<SequenceEvent>] = []
        for prompt in r.prompts {
            for choice in 0..<r.n {
                var parameters = r.parameters
                parameters.seed = r.parameters.seed &+ UInt64(choice)
                let sequence = SequenceRequest(promptIDs: prompt.ids, maxTokens: r.maxTokens, parameters: parameters,
                                               topLogprobs: r.logprobs, promptLogprobs: r.echo && r.logprobs != nil)
                streams.append(try engine.submit(sequence))
            }
        }
        return streams
    }

    /// What one choice came to.
    struct ChoiceResult {
        var generated = ""
        var finish: FinishReason = .length
        var tokens: [(id: Int, logprob: TokenLogprob?)] = []
        var promptLogprobs: [TokenLogprob?] = []
        var failure: String?
    }

    private func collect(_ r: CompletionRequest, streams: [AsyncStream<SequenceEvent>], started: Date) async throws -> [ChoiceResult] {
        try await withThrowingTaskGroup(of: (Int, ChoiceResult).self) { group in
            for (index, stream) in streams.enumerated() {
                group.addTask { [self] in
                    var result = ChoiceResult(), first = true
                    for await event in stream {
                        switch event {
                        case let .prompt(logprobs): result.promptLogprobs = logprobs
                        case let .token(id, text, logprob):
                            if first, index == 0 { metrics.timeToFirstToken(Date().timeIntervalSince(started)) }
                            first = false
                            result.generated += text
                            result.tokens.append((id, logprob))
                        case let .finished(reason, text):
                            result.generated += text
                            result.finish = reason
                        case let .failed(message): result.failure = message
                        }
                    }
                    try Task.checkCancellation()
                    return (index, result)
                }
            }
            var results = Array(repeating: ChoiceResult(), count: streams.count)
            for try await (index, result) in group {
                if let failure = result.failure { throw APIError(status: 500, failure, type: "server_error") }
                results[index] = result
            }
            return results
        }
    }

    // MARK: - Bodies

    private func completionBody(_ r: CompletionRequest, _ results: [ChoiceResult]) -> CompletionResponse<CompletionChoice> {
        let choices = results.enumerated().map { index, result in
            let prompt = r.prompts[index / r.n]
            return CompletionChoice(index: index, text: (r.echo ? prompt.text : "") + result.generated, finishReason: Self.reason(result.finish),
                                    logprobs: r.logprobs == nil ? nil : logprobs(prompt, result, echo: r.echo))
        }
        return CompletionResponse(id: "cmpl-" + UUID().uuidString.lowercased(), object: "text_completion", created: Int(Date().timeIntervalSince1970),
                                  model: modelName, choices: choices, usage: usage(r, results.map(\.tokens.count)))
    }

    private func chatBody(_ r: CompletionRequest, _ results: [ChoiceResult]) -> CompletionResponse<ChatChoice> {
        let choices = results.enumerated().map { index, result in
            ChatChoice(index: index, message: ChatMessage(role: "assistant", content: result.generated), finishReason: Self.reason(result.finish),
                       logprobs: r.logprobs == nil ? nil : ChatLogprobs(content: result.tokens.compactMap { chatLogprob($0.id, $0.logprob) }))
        }
        return CompletionResponse(id: "chatcmpl-" + UUID().uuidString.lowercased(), object: "chat.completion", created: Int(Date().timeIntervalSince1970),
                                  model: modelName, choices: choices, usage: usage(r, results.map(\.tokens.count)))
    }

    private func usage(_ r: CompletionRequest, _ generated: [Int]) -> Usage {
        Usage(promptTokens: r.prompts.map(\.ids.count).reduce(0, +), completionTokens: generated.reduce(0, +))
    }

    /// `tokens`, `token_logprobs`, `top_logprobs` and `text_offset` as OpenAI's completions API returns
    /// them: with echo the prompt's tokens first (the first one's values null), offsets counted in
    /// characters of the returned text (without echo they start at the prompt's length).
    private func logprobs(_ prompt: CompletionRequest.Prompt, _ result: ChoiceResult, echo: Bool) -> CompletionLogprobs {
        var block = LogprobsBlock(tokenizer: tokenizer, offset: echo ? 0 : prompt.text.unicodeScalars.count)
        if echo { block.addPrompt(prompt, result.promptLogprobs) }
        for token in result.tokens { block.add(token.id, token.logprob, spelled: false) }
        return block.take()
    }

    private func chatLogprob(_ id: Int, _ logprob: TokenLogprob?) -> ChatTokenLogprob? {
        guard let logprob else { return nil }
        return ChatTokenLogprob(token: tokenizer.decode([id]), logprob: Double(logprob.logprob),
                                topLogprobs: logprob.top.map { ChatTokenLogprob(token: tokenizer.decode([$0.id]), logprob: Double($0.logprob)) })
    }

    static func reason(_ finish: FinishReason) -> String { finish == .length ? "length" : "stop" }

    static func json<Body: Encodable>(_ body: Body, status: Int = 200) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: WireJSON.encode(body))))
    }

    // MARK: - Streaming

    /// Server-sent events: one chunk per token of any choice as it comes, a last chunk per choice with
    /// its finish reason, the usage chunk when asked (`stream_options.include_usage`), then `data: [DONE]`.
    /// When the client goes away the stream stops, and with it every sequence of the request.
    private func eventStream(_ r: CompletionRequest, streams: [AsyncStream<SequenceEvent>], chat: Bool, started: Date) -> AsyncStream<ByteBuffer> {
        let (output, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let object = chat ? "chat.completion.chunk" : "text_completion"
        let chunk: @Sendable (Data) -> Void = { continuation.yield(ByteBuffer(string: "data: " + String(decoding: $0, as: UTF8.self) + "\n\n")) }
        let sendText: @Sendable (CompletionChoice) -> Void = { [modelName] choice in
            chunk(WireJSON.encode(CompletionResponse(id: id, object: object, created: created, model: modelName, choices: [choice])))
        }
        let sendChat: @Sendable (ChatChunkChoice) -> Void = { [modelName] choice in
            chunk(WireJSON.encode(CompletionResponse(id: id, object: object, created: created, model: modelName, choices: [choice])))
        }
        let producer = Task { [self] in
            let counts = await withTaskGroup(of: (Int, Int).self) { group in
                for (index, stream) in streams.enumerated() {
                    group.addTask { [self] in
                        let prompt = r.prompts[index / r.n]
                        var generated = 0
                        // Offsets run on from chunk to chunk, in characters of the choice's whole text.
                        var block = LogprobsBlock(tokenizer: tokenizer, offset: r.echo ? 0 : prompt.text.unicodeScalars.count)
                        if chat { sendChat(ChatChunkChoice(index: index, delta: ChatDelta(role: "assistant", content: ""))) }
                        // With logprobs the echo waits for the prompt's values, which come before any token.
                        if r.echo && r.logprobs == nil { sendText(CompletionChoice(index: index, text: prompt.text)) }
                        for await event in stream {
                            switch event {
                            case let .prompt(logprobs):
                                block.addPrompt(prompt, logprobs)
                                sendText(CompletionChoice(index: index, text: prompt.text, logprobs: block.take()))
                            case let .token(tokenID, text, logprob):
                                if generated == 0, index == 0 { metrics.timeToFirstToken(Date().timeIntervalSince(started)) }
                                generated += 1
                                guard !text.isEmpty || logprob != nil else { continue }
                                if chat {
                                    let logprobs = r.logprobs == nil ? nil : ChatLogprobs(content: [chatLogprob(tokenID, logprob)].compactMap { $0 })
                                    sendChat(ChatChunkChoice(index: index, delta: ChatDelta(content: text), logprobs: logprobs))
                                } else {
                                    var logprobs: CompletionLogprobs?
                                    if let logprob {
                                        block.add(tokenID, logprob, spelled: false)
                                        logprobs = block.take()
                                    }
                                    sendText(CompletionChoice(index: index, text: text, logprobs: logprobs))
                                }
                            case let .finished(reason, text):
                                let finish = Self.reason(reason)
                                if chat {
                                    sendChat(ChatChunkChoice(index: index, delta: ChatDelta(content: text.isEmpty ? nil : text), finishReason: finish))
                                } else {
                                    sendText(CompletionChoice(index: index, text: text, finishReason: finish))
                                }
                            case let .failed(message):
                                if chat {
                                    sendChat(ChatChunkChoice(index: index, delta: ChatDelta(), finishReason: "error", error: message))
                                } else {
                                    sendText(CompletionChoice(index: index, text: "", finishReason: "error", error: message))
                                }
                            }
                        }
                        return (index, generated)
                    }
                }
                var counts = Array(repeating: 0, count: streams.count)
                for await (index, generated) in group { counts[index] = generated }
                return counts
            }
            guard !Task.isCancelled else { return }
            if r.includeUsage {
                chunk(WireJSON.encode(CompletionResponse<CompletionChoice>(id: id, object: object, created: created, model: modelName, choices: [],
                                                                           usage: usage(r, counts))))
            }
            continuation.yield(ByteBuffer(string: "data: [DONE]\n\n"))
            continuation.finish()
        }
        continuation.onTermination = { termination in
            if case .cancelled = termination { producer.cancel() }
        }
        return output
    }
}

/// A completions `logprobs` object built token by token. `text_offset` counts characters (Unicode
/// scalars, as Python's `len`) of the text the client gets, so a token that is not part of it (the
/// BOS the tokenizer added to a text prompt, or a special token the generated text leaves out)
/// takes no room. A stream takes a block per chunk; the offsets run on.
struct LogprobsBlock {
    private let tokenizer: BPETokenizer
    private var decoder: StreamingDecoder
    private var offset: Int
    private var block = CompletionLogprobs()

    init(tokenizer: BPETokenizer, offset: Int) {
        self.tokenizer = tokenizer
        decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: false)
        self.offset = offset
    }

    /// One token with its log-probability (nil: the first prompt token, which nothing predicts);
    /// `spelled` says whether a special token is written out in the returned text.
    mutating func add(_ id: Int, _ logprob: TokenLogprob?, spelled: Bool) {
        // The token as vLLM names it: decoded alone, special tokens spelled out.
        block.tokens.append(tokenizer.decode([id]))
        block.tokenLogprobs.append(logprob.map { Double($0.logprob) })
        block.topLogprobs.append(logprob.map(topDictionary))
        block.textOffset.append(offset)
        if spelled || !tokenizer.isSpecial(id) { offset += decoder.append(id).unicodeScalars.count }
    }

    /// The echoed prompt's tokens: values from the engine, null where it gave none.
    mutating func addPrompt(_ prompt: CompletionRequest.Prompt, _ logprobs: [TokenLogprob?]) {
        for (position, id) in prompt.ids.enumerated() {
            let logprob = position < logprobs.count ? logprobs[position] : nil
            add(id, logprob, spelled: position >= prompt.added)
        }
    }

    private func topDictionary(_ logprob: TokenLogprob) -> [String: Double] {
        var top: [String: Double] = [:]
        // Two ids may read the same: the key keeps the likelier.
        for alternative in logprob.top {
            let key = tokenizer.decode([alternative.id])
            top[key] = max(top[key] ?? -.infinity, Double(alternative.logprob))
        }
        // The chosen token is always listed, as OpenAI does.
        top[tokenizer.decode([logprob.id])] = Double(logprob.logprob)
        return top
    }

    /// The block so far; the next starts empty, its offsets going on from here.
    mutating func take() -> CompletionLogprobs {
        defer { block = CompletionLogprobs() }
        return block
    }
}
