import DequeModule
import Foundation
import OPTModel
import OPTTokenizer
import ServiceLifecycle

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
    /// The sequence alone needs more memory (its KV cache and its prompt's work buffers) than the budget allows.
    case exceedsMemoryBudget(needed: Int, budget: Int)
}

/// Runs sequences from many clients on one model with continuous batching: a thread of its own
/// loops over decoding steps; before each, waiting sequences join the running batch (their whole
/// prompt in that step) up to `maxBatch`, and finished or cancelled ones leave. Each sequence has
/// its own KV cache, so joining and leaving never disturbs the others.
///
/// Memory is budgeted: a sequence joins only while the KV caches of the running sequences (at
/// their full capacity, prompt plus `maxTokens`) and the work buffers of the step it joins fit in
/// `memoryBudget`; otherwise it waits in the queue, in order. A sequence that could never fit, even
/// alone, is refused at `submit`. The work buffers are freed whenever the engine has no work.
///
/// Prompts are prefilled at most `maxBatchTokens` tokens per step (a longer prompt alone), as
/// vLLM's `max_num_batched_tokens` does: a burst of long prompts is prefilled a few at a time, so
/// the work buffers stay those of one long prompt (16 prompts of 1,900 tokens at once would take
/// over a gigabyte on opt-125m), while the sequences already running keep decoding in between.
///
/// As a `Service` (swift-service-lifecycle) it runs until graceful shutdown, then finishes the
/// sequences it accepted; the server lists it before the HTTP server so that it stops after it.
public final class Engine: @unchecked Sendable {
    public let model: OPTModel
    public let tokenizer: BPETokenizer
    public let maxBatch: Int
    public let maxQueue: Int
    /// Bytes of KV caches and work buffers the running sequences may take together (the weights are not counted).
    public let memoryBudget: Int
    /// Prompt tokens one step prefills at most (a longer prompt runs alone).
    public let maxBatchTokens: Int

    /// Guards every variable below it.
    private let condition = NSCondition()
    private var waiting: Deque<EngineSequence> = []
    private var running: [EngineSequence] = []
    /// Running sequences whose client left; the loop drops them (and their ids) before its next step.
    private var cancelled = Set<Int>()
    private var nextID = 0
    private var stopping = false
    /// Loop threads started and not yet ended: 0 or 1, as `start` starts one at most.
    private var loops = 0
    /// Callers of `shutdown` waiting for the loop to end.
    private var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    private let workspace = SequenceWorkspace()
    /// Bytes the work buffers held after the loop last touched them (the loop alone touches `workspace`).
    private var heldWorkBytes = 0
    /// The most memory (KV caches and work buffers, as budgeted) any step has been planned with.
    private var peakPlannedBytes = 0
    /// The most prompt tokens any step has prefilled.
    private var peakPlannedPromptTokens = 0
    private let counters = EngineCounters()

    public init(model: OPTModel, tokenizer: BPETokenizer, maxBatch: Int = 16, maxQueue: Int = 256, memoryBudget: Int = Engine.defaultMemoryBudget,
                maxBatchTokens: Int = Engine.defaultMaxBatchTokens) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxBatch = max(1, maxBatch)
        self.maxQueue = max(0, maxQueue)
        self.memoryBudget = max(0, memoryBudget)
        self.maxBatchTokens = max(1, maxBatchTokens)
    }

    /// vLLM's default for chunked prefill: enough rows for the matrix products to run at full speed.
    public static let defaultMaxBatchTokens = 2048

    /// Half of the machine's physical memory: the rest is left to the weights, the HTTP server and
    /// the rest of the system.
    public static var defaultMemoryBudget: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory / 2) }

    /// The KV cache a sequence gets: room for its prompt and every token it may generate.
    func cacheCapacity(_ request: SequenceRequest) -> Int { request.promptIDs.count + max(request.maxTokens, 1) }

    /// The logits a sequence's prompt step computes.
    private func promptLogits(_ request: SequenceRequest) -> OPTModel.LogitPositions { request.promptLogprobs ? .all : .last }

    /// Bytes of KV caches and work buffers a step needs when `joining` join `running` (whose
    /// caches exist and which add one token each).
    func memoryNeeded(running: [SequenceRequest], joining: [SequenceRequest]) -> Int {
        let caches = (running + joining).map { KVCache.bytes(config: model.config, capacity: cacheCapacity($0)) }.reduce(0, +)
        let steps = running.map { (tokens: 1, capacity: cacheCapacity($0), logits: OPTModel.LogitPositions.last) }
            + joining.map { (tokens: $0.promptIDs.count, capacity: cacheCapacity($0), logits: promptLogits($0)) }
        return caches + model.workspaceBytes(steps)
    }

    /// Starts the engine's thread; a second call, or one after `shutdown`, does nothing.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard loops == 0, !stopping else { return }
        // Counted before the thread runs, so a `shutdown` from now on waits for it.
        loops = 1
        let thread = Thread { [self] in loop() }
        thread.name = "optiml-engine"
        thread.start()
    }

    /// Refuses new sequences, lets the loop finish every one already accepted, and returns when it
    /// has ended. Sequences of an engine that never started fail, as nothing would run them.
    public func shutdown() async {
        await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            condition.broadcast()
            guard loops == 0 else {
                shutdownWaiters.append(ended)
                condition.unlock()
                return
            }
            let stranded = waiting
            waiting.removeAll()
            condition.unlock()
            for s in stranded { s.fail("the engine stopped before running this sequence") }
            ended.resume()
        }
    }

    /// Sequences waiting to join the batch, and running in it.
    public var load: (waiting: Int, running: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (waiting.count, running.count)
    }

    /// Tokens generated and prompt tokens processed since the start.
    public var tokenCounts: (generated: Int, prompt: Int) { counters.read() }

    /// Decoding steps run so far, by the number of sequences in them.
    public var batchSizes: [Int: Int] { counters.batchSizes() }

    /// Bytes of work buffers the engine holds (as of its last step, or 0 once idle).
    public var workBufferBytes: Int {
        condition.lock()
        defer { condition.unlock() }
        return heldWorkBytes
    }

    /// The most memory any step so far was planned with (for tests: it stays within the budget).
    var peakStepMemory: Int {
        condition.lock()
        defer { condition.unlock() }
        return peakPlannedBytes
    }

    /// The most prompt tokens any step so far has prefilled (for tests).
    var peakStepPromptTokens: Int {
        condition.lock()
        defer { condition.unlock() }
        return peakPlannedPromptTokens
    }

    /// Cancellations the loop has yet to act on, and loop threads running (for tests).
    var bookkeeping: (pendingCancellations: Int, loops: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (cancelled.count, loops)
    }

    /// Queues a sequence; its events arrive on the stream. Ending the stream early (a client gone)
    /// cancels the sequence at the next token boundary.
    public func submit(_ request: SequenceRequest) throws -> AsyncStream<SequenceEvent> {
        // Checked before queueing: a sequence that does not fit alone would wait for ever.
        let needed = memoryNeeded(running: [], joining: [request])
        guard needed <= memoryBudget else { throw EngineError.exceedsMemoryBudget(needed: needed, budget: memoryBudget) }
        let (stream, continuation) = AsyncStream<SequenceEvent>.makeStream(bufferingPolicy: .unbounded)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw EngineError.shuttingDown }
        // Room: the queue itself, plus the batch's free slots (those wait only until the next step).
        guard waiting.count < maxQueue + max(0, maxBatch - running.count) else { throw EngineError.queueFull(limit: maxQueue) }
        let id = nextID
        nextID += 1
        waiting.append(EngineSequence(id: id, request: request, config: model.config, tokenizer: tokenizer, continuation: continuation))
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(id) }
        }
        condition.signal()
        return stream
    }

    /// A waiting sequence leaves the queue at once (the loop never touched it); a running one is
    /// marked for the loop, which may be in the middle of a step with it. Ids of sequences already
    /// gone are not kept.
    private func cancel(_ id: Int) {
        condition.lock()
        defer { condition.unlock() }
        if let index = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: index)
        } else if running.contains(where: { $0.id == id }) {
            cancelled.insert(id)
        }
    }

    private func loop() {
        while true {
            condition.lock()
            if waiting.isEmpty && running.isEmpty {
                // Idle: a prefill's buffers (hundreds of MB for long prompts) go back to the system.
                workspace.release()
                heldWorkBytes = 0
            }
            while waiting.isEmpty && running.isEmpty && !stopping { condition.wait() }
            if stopping && waiting.isEmpty && running.isEmpty {
                loops = 0
                let waiters = shutdownWaiters
                shutdownWaiters = []
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            dropCancelled()
            admit()
            let batch = running
            condition.unlock()

            if !batch.isEmpty { step(batch) }

            condition.lock()
            heldWorkBytes = workspace.bytes
            running.removeAll { $0.done }
            dropCancelled()
            condition.unlock()
        }
    }

    /// Moves waiting sequences into the batch, in order, while there is a slot, the memory budget
    /// holds them and their prompts stay within `maxBatchTokens` (called with the lock held). The
    /// first always joins an empty batch (`submit` saw that it fits alone), and one prompt per step
    /// always may, however long.
    private func admit() {
        var joining: [SequenceRequest] = []
        let runningRequests = running.map(\.request)
        var planned = memoryNeeded(running: runningRequests, joining: [])
        var promptTokens = 0
        while running.count < maxBatch, let next = waiting.first {
            let needed = memoryNeeded(running: runningRequests, joining: joining + [next.request])
            guard needed <= memoryBudget || running.isEmpty else { break }
            guard promptTokens + next.request.promptIDs.count <= maxBatchTokens || joining.isEmpty else { break }
            joining.append(next.request)
            running.append(waiting.removeFirst())
            planned = needed
            promptTokens += next.request.promptIDs.count
        }
        peakPlannedBytes = max(peakPlannedBytes, planned)
        peakPlannedPromptTokens = max(peakPlannedPromptTokens, promptTokens)
    }

    /// Drops the running sequences whose client left, and forgets their ids (called with the lock held).
    private func dropCancelled() {
        guard !cancelled.isEmpty else { return }
        running.removeAll { cancelled.contains($0.id) }
        cancelled.removeAll()
    }

    /// One forward pass over the batch: prompts of sequences that just joined, one token of the others.
    private func step(_ batch: [EngineSequence]) {
        counters.step(size: batch.count)
        let steps = batch.map(input)
        // Buffers grown for a prefill are freed once steps need far less (decoding), so that what
        // the budget counted for this step is what the process holds.
        let needed = model.workspaceBytes(steps.map { ($0.tokens.count, $0.cache.capacity, $0.logits) })
        if workspace.bytes > 2 * needed { workspace.release() }
        do {
            try model.forward(sequences: steps, workspace: workspace) { advance(batch, logits: $0) }
        } catch {
            // `forward` checks every sequence before it touches a cache, so the batch it refused is
            // intact: run each sequence alone, and only those refused alone fail.
            for (s, step) in zip(batch, steps) {
                do { try model.forward(sequences: [step], workspace: workspace) { advance([s], logits: $0) } } catch { s.fail("\(error)") }
            }
        }
    }

    /// A sequence's part of the next step: its whole prompt the first time (making its cache), then its last token.
    private func input(_ s: EngineSequence) -> OPTModel.SequenceStep {
        if let cache = s.cache { return s.decoder.step(cache: cache) }
        let cache = KVCache(config: model.config, capacity: cacheCapacity(s.request))
        s.cache = cache
        return s.decoder.step(cache: cache, logits: promptLogits(s.request))
    }

    /// Reports each sequence's step from its logits (which point into the workspace: read them
    /// before the next forward pass).
    private func advance(_ batch: [EngineSequence], logits: [UnsafeMutableBufferPointer<Float>]) {
        var generated = 0, prompt = 0
        for (s, rows) in zip(batch, logits) {
            let vocab = model.config.vocabSize
            if !s.reportedPrompt {
                s.reportedPrompt = true
                prompt += s.request.promptIDs.count
                if s.request.promptLogprobs { s.continuation.yield(.prompt(promptLogprobs(rows, s.request))) }
            }
            // `maxTokens` 0: the prompt alone was asked for.
            if s.decoder.finishReason != nil {
                s.finish()
                continue
            }
            s.advance(UnsafeMutableBufferPointer(rebasing: rows[(rows.count - vocab)...]))
            generated += 1
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

extension Engine: Service {
    /// Starts the loop and runs until graceful shutdown, then finishes the sequences already
    /// accepted. Cancellation (a service group torn down) ends the wait the same way: accepted
    /// sequences are bounded by their `maxTokens`, and their clients are owed an answer.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await shutdown()
    }
}

/// A sequence inside the engine; touched only by the engine's thread once submitted (or by
/// `shutdown` when no thread ever ran).
final class EngineSequence {
    let id: Int
    let request: SequenceRequest
    let continuation: AsyncStream<SequenceEvent>.Continuation
    var cache: KVCache?
    /// The prompt and the tokens chosen so far, and what ends the sequence.
    var decoder: SequenceDecoder
    var done = false
    var reportedPrompt = false

    init(id: Int, request: SequenceRequest, config: OPTConfig, tokenizer: BPETokenizer, continuation: AsyncStream<SequenceEvent>.Continuation) {
        self.id = id
        self.request = request
        self.continuation = continuation
        decoder = SequenceDecoder(promptIDs: request.promptIDs, parameters: request.parameters, seed: request.parameters.seed,
                                  maxNewTokens: request.maxTokens, positionLimit: config.maxPositionEmbeddings,
                                  eosTokenID: config.eosTokenId, tokenizer: tokenizer)
    }

    /// Chooses the next token from `logits` and reports it (the end-of-sequence token only as the end), and the
    /// end when it ends the sequence.
    func advance(_ logits: UnsafeMutableBufferPointer<Float>) {
        // Log-probabilities come from the model's own distribution, before penalties change the logits.
        let logprob = request.topLogprobs.map { top in Logprobs.distribution(UnsafeBufferPointer(logits), top: top) }
        let (id, piece) = decoder.advance(logits)
        if decoder.finishReason != .eos {
            continuation.yield(.token(id: id, text: piece, logprob: logprob.map { $0.token(id) }))
        }
        if decoder.finishReason != nil { finish() }
    }

    /// Reports the end, with the text held back until now.
    func finish() {
        guard !done, let reason = decoder.finishReason else { return }
        done = true
        continuation.yield(.finished(reason, text: decoder.finish()))
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

/// Token counters and batch sizes, shared with the metrics endpoint.
final class EngineCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var generated = 0, prompt = 0
    private var steps: [Int: Int] = [:]
    func add(generated g: Int, prompt p: Int) {
        lock.lock()
        generated += g
        prompt += p
        lock.unlock()
    }
    func step(size: Int) {
        lock.lock()
        steps[size, default: 0] += 1
        lock.unlock()
    }
    func read() -> (generated: Int, prompt: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (generated, prompt)
    }
    func batchSizes() -> [Int: Int] {
        lock.lock()
        defer { lock.unlock() }
        return steps
    }
}
