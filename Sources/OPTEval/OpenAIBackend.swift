import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OPTBench
import OPTOpenAI

/// Why a remote server could not answer; every case names the URL.
public enum RemoteBackendError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer after every retry (refused, unreachable, timed out).
    case unreachable(url: String, reason: String, attempts: Int)
    /// The server answered with an error status.
    case status(url: String, code: Int, body: String)
    /// The answer is not the OpenAI completions shape this backend reads.
    case malformedResponse(url: String, reason: String)

    public var description: String {
        switch self {
        case let .unreachable(url, reason, attempts): return "\(url): no answer after \(attempts) attempts (\(reason))"
        case let .status(url, code, body): return "\(url): HTTP \(code): \(body.prefix(300))"
        case let .malformedResponse(url, reason): return "\(url): unexpected response: \(reason)"
        }
    }
}

/// Evaluates through any OpenAI-compatible completions server (vLLM, TGI's OpenAI route, this
/// project's own server), with lm-evaluation-harness's `local-completions` conventions: scoring
/// sends context + continuation with `echo`, `logprobs: 1` and `max_tokens: 0` and sums the
/// log-probabilities of the tokens past the context (by `text_offset`); generation sends the context
/// with `stop` and `max_tokens`, greedily. Requests run `concurrency` at a time as child tasks on
/// async-http-client's shared, pooled client; failures are retried with exponential backoff.
public struct OpenAIBackend: EvalBackend {
    public var baseURL: URL
    public var model: String
    public var apiKey: String?
    public var concurrency: Int
    /// Seconds a request may take from connecting to the last byte of its answer.
    public let timeout: TimeInterval
    public var retries: Int
    /// The largest answer read; a longer one is an error rather than unbounded memory.
    public var maxResponseBytes: Int
    public var identity: ModelIdentity { ModelIdentity(["backend": "openai", "base_url": baseURL.absoluteString, "model": model]) }

    public init(baseURL: URL, model: String, apiKey: String? = nil, concurrency: Int = 8, timeout: TimeInterval = 120, retries: Int = 3,
                maxResponseBytes: Int = 64 << 20) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.maxResponseBytes = maxResponseBytes
    }

    var completionsURL: URL { baseURL.appendingPathComponent("completions") }

    /// Every answer in the requests' order; at most `concurrency` in flight, a new one started as each ends.
    /// The first error cancels the rest.
    public func answer(_ requests: [EvalRequest]) async throws -> [EvalResponse] {
        try await withThrowingTaskGroup(of: (Int, EvalResponse).self) { group in
            var responses = [EvalResponse?](repeating: nil, count: requests.count)
            var next = 0
            func startNext() {
                guard next < requests.count else { return }
                let index = next, request = requests[index]
                group.addTask { (index, try await self.answer(request)) }
                next += 1
            }
            for _ in 0..<min(concurrency, requests.count) { startNext() }
            while let (index, response) = try await group.next() {
                responses[index] = response
                startNext()
            }
            return responses.map { $0! }
        }
    }

    func answer(_ request: EvalRequest) async throws -> EvalResponse {
        switch request {
        case let .loglikelihood(context, continuation):
            let body = CompletionRequestBody(model: model, prompt: .text(context + continuation),
                                             sampling: SamplingOptions(maxTokens: 0, temperature: 0), logprobs: 1, echo: true)
            return try Self.loglikelihood(try await post(body), contextLength: context.unicodeScalars.count, url: completionsURL.absoluteString)
        case let .generate(context, until, maxTokens):
            let sampling = SamplingOptions(maxTokens: maxTokens, temperature: 0, stop: until.isEmpty ? nil : Array(until.prefix(4)))
            let body = CompletionRequestBody(model: model, prompt: .text(context), sampling: sampling)
            return .generated(try Self.firstChoice(try await post(body), url: completionsURL.absoluteString).text)
        }
    }

    /// The continuation's summed log-probability: tokens whose `text_offset` is at or past the context's end.
    static func loglikelihood(_ response: CompletionResponse<CompletionChoice>, contextLength: Int, url: String) throws -> EvalResponse {
        guard let logprobs = try firstChoice(response, url: url).logprobs,
              logprobs.textOffset.count == logprobs.tokenLogprobs.count, logprobs.tokens.count == logprobs.tokenLogprobs.count else {
            throw RemoteBackendError.malformedResponse(url: url, reason: "choices[0].logprobs lacks tokens, token_logprobs or text_offset")
        }
        var total = 0.0, count = 0, greedy = true
        for (position, offset) in logprobs.textOffset.enumerated() where offset >= contextLength {
            guard let value = logprobs.tokenLogprobs[position] else {
                throw RemoteBackendError.malformedResponse(url: url, reason: "token_logprobs[\(position)] is null")
            }
            total += value
            count += 1
            if position < logprobs.topLogprobs.count, let top = logprobs.topLogprobs[position], let best = top.max(by: { $0.value < $1.value }) {
                if best.key != logprobs.tokens[position] { greedy = false }
            }
        }
        guard count > 0 else { throw RemoteBackendError.malformedResponse(url: url, reason: "no token after the context (offset \(contextLength))") }
        return .loglikelihood(logprob: total, isGreedy: greedy, tokens: count)
    }

    static func firstChoice(_ response: CompletionResponse<CompletionChoice>, url: String) throws -> CompletionChoice {
        guard let first = response.choices.first else { throw RemoteBackendError.malformedResponse(url: url, reason: "no choices") }
        return first
    }

    /// POSTs the request and returns the decoded response, retrying refused connections, timeouts, 429 and 5xx.
    func post(_ body: CompletionRequestBody) async throws -> CompletionResponse<CompletionChoice> {
        let url = completionsURL.absoluteString
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: WireJSON.encode(body)))
        var lastReason = ""
        for attempt in 0...retries {
            if attempt > 0 { try await Task.sleep(nanoseconds: UInt64(min(8, 0.25 * pow(2, Double(attempt - 1))) * 1e9)) }
            let code: Int, data: Data
            do {
                // async-http-client's deadline ends with the answer's head; `within` bounds the body too.
                let limit = maxResponseBytes, deadline = NIODeadline.now() + .nanoseconds(Int64(timeout * 1e9))
                (code, data) = try await Self.within(timeout) { [request] in
                    let response = try await HTTPClient.shared.execute(request, deadline: deadline)
                    return (Int(response.status.code), Data(try await response.body.collect(upTo: limit).readableBytesView))
                }
            } catch let error as NIOTooManyBytesError {
                throw RemoteBackendError.malformedResponse(url: url, reason: "the answer is longer than \(maxResponseBytes) bytes (\(error))")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastReason = "\(error)"
                continue
            }
            if code == 429 || code >= 500 {
                lastReason = "HTTP \(code)"
                continue
            }
            guard (200..<300).contains(code) else { throw RemoteBackendError.status(url: url, code: code, body: String(decoding: data, as: UTF8.self)) }
            do { return try JSONDecoder().decode(CompletionResponse<CompletionChoice>.self, from: data) } catch {
                throw RemoteBackendError.malformedResponse(url: url, reason: "not a completion (\(error)): \(String(decoding: data, as: UTF8.self).prefix(200))")
            }
        }
        throw RemoteBackendError.unreachable(url: url, reason: lastReason, attempts: retries + 1)
    }

    /// What `body` returns, or `TimedOut` once `seconds` have passed (`body` is then cancelled).
    static func within<T: Sendable>(_ seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                throw TimedOut(seconds: seconds)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    struct TimedOut: Error, CustomStringConvertible {
        let seconds: TimeInterval
        var description: String { "no complete answer within \(seconds) s" }
    }
}
