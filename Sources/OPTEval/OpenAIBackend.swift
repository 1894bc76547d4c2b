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
/// with `stop` and `max_tokens`, greedily. Requests run `concurrency` at a time; failures are retried
/// with exponential backoff.
///
/// `answer` is synchronous (the runner calls it between cache writes) and may be called from a thread
/// of Swift concurrency's cooperative pool, as synchronous tests are: the requests therefore run on an
/// `OperationQueue`'s own threads, each blocking on async-http-client's future, which NIO's event loops
/// complete. Nothing here waits on the cooperative pool, so blocked callers cannot starve it into a deadlock.
public struct OpenAIBackend: EvalBackend {
    public var baseURL: URL
    public var model: String
    public var apiKey: String?
    public var concurrency: Int
    /// Seconds a request may take from connecting to the last byte of its answer.
    public let timeout: TimeInterval
    public var retries: Int
    public var identity: ModelIdentity { ModelIdentity(["backend": "openai", "base_url": baseURL.absoluteString, "model": model]) }

    public init(baseURL: URL, model: String, apiKey: String? = nil, concurrency: Int = 8, timeout: TimeInterval = 120, retries: Int = 3) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.retries = max(0, retries)
    }

    var completionsURL: URL { baseURL.appendingPathComponent("completions") }

    public func answer(_ requests: [EvalRequest]) throws -> [EvalResponse] {
        let results = ResultSlots(count: requests.count)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = concurrency
        for (index, request) in requests.enumerated() {
            queue.addOperation { results.set(index, Result { try self.answer(request) }) }
        }
        queue.waitUntilAllOperationsAreFinished()
        return try results.values()
    }

    func answer(_ request: EvalRequest) throws -> EvalResponse {
        switch request {
        case let .loglikelihood(context, continuation):
            let body = CompletionRequestBody(model: model, prompt: .text(context + continuation),
                                             sampling: SamplingOptions(maxTokens: 0, temperature: 0), logprobs: 1, echo: true)
            return try Self.loglikelihood(try post(body), contextLength: context.unicodeScalars.count, url: completionsURL.absoluteString)
        case let .generate(context, until, maxTokens):
            let sampling = SamplingOptions(maxTokens: maxTokens, temperature: 0, stop: until.isEmpty ? nil : Array(until.prefix(4)))
            let body = CompletionRequestBody(model: model, prompt: .text(context), sampling: sampling)
            return .generated(try Self.firstChoice(try post(body), url: completionsURL.absoluteString).text)
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
    func post(_ body: CompletionRequestBody) throws -> CompletionResponse<CompletionChoice> {
        let url = completionsURL.absoluteString
        var lastReason = ""
        for attempt in 0...retries {
            if attempt > 0 { Thread.sleep(forTimeInterval: min(8, 0.25 * pow(2, Double(attempt - 1)))) }
            let response: HTTPClient.Response
            do {
                var request = try HTTPClient.Request(url: url, method: .POST)
                request.headers.add(name: "Content-Type", value: "application/json")
                if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
                request.body = .data(WireJSON.encode(body))
                // The deadline covers the whole request: connecting, sending and reading the answer.
                response = try HTTPClient.shared.execute(request: request, deadline: .now() + .nanoseconds(Int64(timeout * 1e9))).wait()
            } catch {
                lastReason = "\(error)"
                continue
            }
            let code = Int(response.status.code)
            let data = response.body.map { Data($0.readableBytesView) } ?? Data()
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
}

/// Results written by concurrent operations, one slot each.
private final class ResultSlots: @unchecked Sendable {
    private var slots: [Result<EvalResponse, Error>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<EvalResponse, Error>) {
        lock.lock()
        slots[index] = result
        lock.unlock()
    }

    /// Every response in order, or the first error.
    func values() throws -> [EvalResponse] {
        try slots.map { slot in
            guard let slot else { throw RemoteBackendError.malformedResponse(url: "", reason: "a request was not answered") }
            return try slot.get()
        }
    }
}
