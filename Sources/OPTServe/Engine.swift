import Foundation
import OPTModel
import OPTTokenizer

/// One sequence a client asks for: a prompt and how to continue it.
public struct SequenceRequest: Sendable {
    public var promptIDs: [Int]
    /// New tokens at most; 0 only scores the prompt.
    public var maxTokens: Int
    /// Sampling, penalties and stop strings (`maxNewTokens` is ignored: `maxTokens` rules).
    public var parameters: GenerationParameters
    /// Alternatives returned per generated token (nil: no log-probabilities at all).
    public var topLogprobs: Int?
    /// Whether to return the prompt tokens' log-probabilities (`echo` with `logprobs`).
    public var promptLogprobs: Bool

    public init(promptIDs: [Int], maxTokens: Int, parameters: GenerationParameters, topLogprobs: Int? = nil, promptLogprobs: Bool = false) {
        self.promptIDs = promptIDs
        self.maxTokens = maxTokens
        self.parameters = parameters
        self.topLogprobs = topLogprobs
        self.promptLogprobs = promptLogprobs
    }
}

/// A token's log-probability under the model (log-softmax of its logits, before any sampling
/// transform) and the most likely alternatives at its position.
public struct TokenLogprob: Sendable, Equatable {
    public var id: Int
    public var logprob: Float
    public var top: [(id: Int, logprob: Float)]

    public static func == (a: Self, b: Self) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.top.map(\.id) == b.top.map(\.id) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }
}

/// What the engine reports about a sequence, in order.
public enum SequenceEvent: Sendable {
    /// The prompt's tokens with their log-probabilities (nil for the first, which nothing predicts).
    case prompt([TokenLogprob?])
    /// A generated token and the text it makes final (possibly empty: text is held back inside a
    /// UTF-8 character or while it could begin a stop string).
    case token(id: Int, text: String, logprob: TokenLogprob?)
    /// The end: why, and the text held back until now.
    case finished(FinishReason, text: String)
    case failed(String)
}

/// Why the engine refused a sequence.
public enum EngineError: Error, Equatable {
    case queueFull(limit: Int)
    case shuttingDown
}

/// Runs sequences from many clients on one model with continuous batching: a thread of its own
/// loops over decoding steps; before each, waiting sequences join the running batch (their whole
/// prompt in that step) up to `maxBatch`, and finished or cancelled ones leave. Each sequence has
/// its own KV cache, so joining and leaving never disturbs the others.
public final class Engine: @unchecked Sendable {
    public let model: OPTModel
    public let tokenizer: BPETokenizer
    public let maxBatch: Int
    public let maxQueue: Int

    private let condition = NSCondition()
    private var waiting: [EngineSequence] = []
    private var running: [EngineSequence] = []
    private var cancelled = Set<Int>()
    private var nextID = 0
    private var stopping = false
    private var thread: Thread?
    private let finishedLoop = DispatchSemaphore(value: 0)
    private let workspace = SequenceWorkspace()
    private let counters = EngineCounters()

    public init(model: OPTModel, tokenizer: BPETokenizer, maxBatch: Int = 16, maxQueue: Int = 256) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxBatch = max(1, maxBatch)
        self.maxQueue = max(0, maxQueue)
    }

    /// Starts the engine's thread.
    public func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "optiml-engine"
        thread.start()
        self.thread = thread
    }

    /// Finishes every sequence already accepted, then stops the thread; new ones are refused.
    public func shutdown() {
        condition.lock()
        let started = thread != nil && !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if started { finishedLoop.wait() }
    }

    /// Sequences waiting to join the batch, and running in it.
    public var load: (waiting: Int, running: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (waiting.count, running.count)
    }

    /// Tokens generated and prompt tokens processed since the start.
    public var tokenCounts: (generated: Int, prompt: Int) { counters.read() }

    /// Queues a sequence; its events arrive on the stream. Ending the stream early (a client gone)
    /// cancels the sequence at the next token boundary.
    public func submit(_ request: SequenceRequest) throws -> AsyncStream<SequenceEvent> {
        let (stream, continuation) = AsyncStream<SequenceEvent>.makeStream(bufferingPolicy: .unbounded)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw EngineError.shuttingDown }
        // Room: the queue itself, plus the batch's free slots (those wait only until the next step).
        guard waiting.count < maxQueue + max(0, maxBatch - running.count) else { throw EngineError.queueFull(limit: maxQueue) }
        let id = nextID
        nextID += 1
        waiting.append(EngineSequence(id: id, request: request, tokenizer: tokenizer, continuation: continuation))
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(id) }
        }
        condition.signal()
        return stream
    }

    private func cancel(_ id: Int) {
        condition.lock()
        cancelled.insert(id)
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while waiting.isEmpty && running.isEmpty && !stopping { condition.wait() }
            if stopping && waiting.isEmpty && running.isEmpty {
                condition.unlock()
                break
            }
            waiting.removeAll { cancelled.contains($0.id) }
            running.removeAll { cancelled.contains($0.id) }
            while running.count < maxBatch, !waiting.isEmpty { running.append(waiting.removeFirst()) }
            let batch = running
            condition.unlock()

            step(batch)

            condition.lock()
            running.removeAll { $0.done }
            for s in batch where s.done { cancelled.remove(s.id) }
            condition.unlock()
        }
        finishedLoop.signal()
    }

    /// One forward pass over the batch: prompts of sequences that just joined, one token of the others.
    private func step(_ batch: [EngineSequence]) {
        let steps = batch.map { s -> OPTModel.SequenceStep in
            if s.cache == nil {
                s.cache = KVCache(config: model.config, batchSize: 1, capacity: s.request.promptIDs.count + max(s.request.maxTokens, 1))
                return .init(tokens: s.request.promptIDs, cache: s.cache!, logits: s.request.promptLogprobs ? .all : .last)
            }
            return .init(tokens: [s.tokens.last!], cache: s.cache!, logits: .last)
        }
        let logits: [UnsafeMutableBufferPointer<Float>]
        do { logits = try model.forward(sequences: steps, workspace: workspace) } catch {
            for s in batch { s.fail("\(error)") }
            return
        }
        var generated = 0, prompt = 0
        for (s, rows) in zip(batch, logits) {
            let vocab = model.config.vocabSize
            if s.output.isEmpty && !s.reportedPrompt {
                s.reportedPrompt = true
                prompt += s.request.promptIDs.count
                if s.request.promptLogprobs { s.continuation.yield(.prompt(promptLogprobs(rows, s.request))) }
            }
            if s.request.maxTokens == 0 {
                s.finish(.length)
                continue
            }
            let last = UnsafeMutableBufferPointer(rebasing: rows[(rows.count - vocab)...])
            s.advance(last, eos: model.config.eosTokenId)
            generated += 1
            if !s.done && (s.output.count >= s.request.maxTokens || s.tokens.count >= model.config.maxPositionEmbeddings) {
                s.finish(.length)
            }
        }
        counters.add(generated: generated, prompt: prompt)
    }

    private func promptLogprobs(_ rows: UnsafeMutableBufferPointer<Float>, _ request: SequenceRequest) -> [TokenLogprob?] {
        let vocab = model.config.vocabSize, ids = request.promptIDs
        return [nil] + (1..<max(ids.count, 1)).map { t in
            Logprobs.of(ids[t], in: UnsafeBufferPointer(rebasing: rows[((t - 1) * vocab)..<(t * vocab)]), top: request.topLogprobs ?? 0)
        }
    }
}

/// A sequence inside the engine; touched only by the engine's thread once submitted.
final class EngineSequence {
    let id: Int
    let request: SequenceRequest
    let continuation: AsyncStream<SequenceEvent>.Continuation
    var cache: KVCache?
    /// Prompt and output so far.
    var tokens: [Int]
    var output: [Int] = []
    var sampler: TokenSampler
    var text: TextStream
    var done = false
    var reportedPrompt = false

    init(id: Int, request: SequenceRequest, tokenizer: BPETokenizer, continuation: AsyncStream<SequenceEvent>.Continuation) {
        self.id = id
        self.request = request
        self.continuation = continuation
        tokens = request.promptIDs
        sampler = TokenSampler(parameters: request.parameters, seed: request.parameters.seed)
        text = TextStream(tokenizer: tokenizer, stop: request.parameters.stop)
    }

    /// Chooses the next token from `logits`, reports it, and finishes at EOS or a stop string.
    func advance(_ logits: UnsafeMutableBufferPointer<Float>, eos: Int) {
        // Log-probabilities come from the model's own distribution, before penalties change the logits.
        let logprob = request.topLogprobs.map { top in Logprobs.distribution(UnsafeBufferPointer(logits), top: top) }
        let id = sampler.choose(logits, sequence: tokens)
        tokens.append(id)
        if request.parameters.stopAtEOS && id == eos {
            finish(.eos)
            return
        }
        output.append(id)
        let (piece, hitStop) = text.append(id)
        continuation.yield(.token(id: id, text: piece, logprob: logprob.map { $0.token(id) }))
        if hitStop { finish(.stop, flush: false) }
    }

    func finish(_ reason: FinishReason, flush: Bool = true) {
        guard !done else { return }
        done = true
        continuation.yield(.finished(reason, text: flush ? text.finish() : ""))
        continuation.finish()
    }

    func fail(_ message: String) {
        guard !done else { return }
        done = true
        continuation.yield(.failed(message))
        continuation.finish()
    }
}

/// Log-softmax of a logits row, and its top entries.
enum Logprobs {
    struct Distribution {
        let logSum: Float
        let logits: [Float]
        let top: [(id: Int, logprob: Float)]
        func token(_ id: Int) -> TokenLogprob { TokenLogprob(id: id, logprob: logits[id] - logSum, top: top) }
    }

    static func distribution(_ row: UnsafeBufferPointer<Float>, top: Int) -> Distribution {
        var maximum = -Float.infinity
        for v in row where v > maximum { maximum = v }
        var sum: Double = 0
        for v in row { sum += Double(expf(v - maximum)) }
        let logSum = maximum + Float(log(sum))
        var best: [(id: Int, logprob: Float)] = []
        if top > 0 {
            // Keep the top entries in a small sorted array (top is at most a few).
            for (id, v) in row.enumerated() where best.count < top || v - logSum > best[best.count - 1].logprob {
                best.append((id, v - logSum))
                best.sort { $0.logprob > $1.logprob }
                if best.count > top { best.removeLast() }
            }
        }
        return Distribution(logSum: logSum, logits: Array(row), top: best)
    }

    static func of(_ id: Int, in row: UnsafeBufferPointer<Float>, top: Int) -> TokenLogprob {
        distribution(row, top: top).token(id)
    }
}

/// Token counters shared with the metrics endpoint.
final class EngineCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var generated = 0, prompt = 0
    func add(generated g: Int, prompt p: Int) {
        lock.lock()
        generated += g
        prompt += p
        lock.unlock()
    }
    func read() -> (generated: Int, prompt: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (generated, prompt)
    }
}
