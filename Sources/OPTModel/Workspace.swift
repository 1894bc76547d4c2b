import CKernels
import Foundation
import OPTKernels

/// Scratch buffers of forward passes, reused step after step, so that generating a token
/// allocates nothing once the first step has sized them.
final class Workspace {
    var x = FloatBuffer(count: 0)
    var normed = FloatBuffer(count: 0)
    var q = FloatBuffer(count: 0)
    var k = FloatBuffer(count: 0)
    var v = FloatBuffer(count: 0)
    var attended = FloatBuffer(count: 0)
    var projected = FloatBuffer(count: 0)
    var hidden = FloatBuffer(count: 0)
    var embedded = FloatBuffer(count: 0)
    var scores = FloatBuffer(count: 0)
    var tile = FloatBuffer(count: 0)
    var logits = FloatBuffer(count: 0)
    /// Inputs converted for the int8 and bf16 GEMMs (`WeightMatrix.quantizedBytes`, counted here in floats).
    var quantized = FloatBuffer(count: 0)
    /// Shown each matrix product's inputs (calibration); nil in ordinary passes.
    var inputObserver: MatrixInputObserver?

    private static var buffers: [ReferenceWritableKeyPath<Workspace, FloatBuffer>] {
        [\.x, \.normed, \.q, \.k, \.v, \.attended, \.projected, \.hidden, \.embedded, \.scores, \.tile, \.logits, \.quantized]
    }

    /// The floats each buffer needs for `rows` token rows (`steps` per sequence) of which
    /// `logitRows` go through the lm_head, attending over `capacity` positions, with per-thread
    /// scratch for `threads` threads.
    ///
    /// Logits are sized by the rows computed, not the rows run: a prompt's prefill that needs only
    /// its last position's logits must not hold `rows × vocabulary` floats (6 GB for 16 prompts of
    /// 1,900 tokens on OPT's 50k vocabulary).
    static func sizes(rows: Int, logitRows: Int, steps: Int, capacity: Int, threads: Int, config c: OPTConfig)
        -> [(buffer: ReferenceWritableKeyPath<Workspace, FloatBuffer>, count: Int)] {
        let h = c.hiddenSize, e = c.wordEmbedProjDim, widest = max(h, e, c.ffnDim)
        // A single step keeps the scores of every (row, head) pair; longer inputs one pair per thread, or each
        // thread the scratch of `ck_attention_f32` (keys transposed and a block's scores).
        let attentionScratch = steps == 1 ? 0 : threads * ck_attention_f32_scratch(capacity, c.headDim) / MemoryLayout<Float>.stride
        let scores = max((steps == 1 ? rows * c.numAttentionHeads : threads * steps) * capacity, c.numAttentionHeads * capacity,
                         attentionScratch)
        return [(\.x, rows * h), (\.normed, rows * h), (\.q, rows * h), (\.k, rows * h), (\.v, rows * h), (\.attended, rows * h),
                (\.projected, rows * max(h, e)), (\.hidden, rows * c.ffnDim), (\.embedded, rows * e), (\.scores, scores),
                (\.tile, threads * WeightMatrix.tileRows * widest), (\.logits, logitRows * c.vocabSize),
                (\.quantized, (WeightMatrix.quantizedBytes(count: rows, cols: widest) + 3) / MemoryLayout<Float>.stride)]
    }

    /// Bytes of work buffers a forward pass of this shape needs (what `reserve` grows them to at least).
    static func bytes(rows: Int, logitRows: Int, steps: Int, capacity: Int, threads: Int, config: OPTConfig) -> Int {
        sizes(rows: rows, logitRows: logitRows, steps: steps, capacity: capacity, threads: threads, config: config)
            .map(\.count).reduce(0, +) * MemoryLayout<Float>.stride
    }

    /// Grows the buffers for a forward pass of this shape (see `sizes`).
    func reserve(rows: Int, logitRows: Int, steps: Int, capacity: Int, threads: Int, config: OPTConfig) {
        for (buffer, count) in Self.sizes(rows: rows, logitRows: logitRows, steps: steps, capacity: capacity, threads: threads, config: config)
        where self[keyPath: buffer].count < count {
            self[keyPath: buffer] = FloatBuffer(count: count)
        }
    }

    /// Bytes the buffers hold now.
    var bytes: Int { Self.buffers.map { self[keyPath: $0].count }.reduce(0, +) * MemoryLayout<Float>.stride }

    /// Frees every buffer (the next forward pass sizes them again): a server with no work gives a
    /// prefill's buffers back instead of keeping them for ever.
    func release() {
        for buffer in Self.buffers { self[keyPath: buffer] = FloatBuffer(count: 0) }
    }
}

/// What a forward pass shows of a matrix product's inputs: the weight slots that take them (q, k and v share theirs)
/// and `count` rows of their input width, valid during the call.
public typealias MatrixInputObserver = (_ weights: [ParameterLayout.Slot], _ rows: UnsafePointer<Float>, _ count: Int) -> Void

/// Scratch space of `OPTModel.forward(sequences:workspace:)`: one per decoding loop (a generation, a
/// scoring call, the server's engine), reused step after step.
public final class SequenceWorkspace {
    let workspace = Workspace()

    /// A workspace whose passes show `inputObserver` every matrix product's inputs (nil: none are shown).
    public init(inputObserver: MatrixInputObserver? = nil) {
        workspace.inputObserver = inputObserver
    }

    /// Bytes its buffers hold now.
    public var bytes: Int { workspace.bytes }

    /// Frees its buffers until the next forward pass needs them (call when idle, never while a
    /// forward pass's logits are being read).
    public func release() { workspace.release() }
}

/// Idle workspaces kept for the next forward pass, so that repeated calls (scoring batch after batch, one
/// generation after another) reuse their buffers instead of faulting fresh pages in: a 512-token prefill of
/// opt-125m with the logits of every position spent about a seventh of its time on those faults. Each caller
/// takes a workspace of its own for the call, so concurrent callers never share one. The KV caches it makes
/// reuse the buffers of freed ones in the same way (`KVBufferRecycler`).
public final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [SequenceWorkspace] = []
    private let cacheBuffers = KVBufferRecycler()

    public init() {}

    /// Runs `body` with an idle workspace (a new one when none is idle), which is kept again afterwards.
    public func with<T>(_ body: (SequenceWorkspace) throws -> T) rethrows -> T {
        let workspace = lock.withLock { idle.popLast() } ?? SequenceWorkspace()
        defer { lock.withLock { idle.append(workspace) } }
        return try body(workspace)
    }

    /// A KV cache for up to `capacity` positions whose buffers go back to this pool when it is freed.
    public func cache(config: OPTConfig, capacity: Int) -> KVCache {
        KVCache(config: config, capacity: capacity, recycler: cacheBuffers)
    }

    /// A KV cache starting as a copy of the first `length` positions (default: all) of `source`, whose
    /// buffers go back to this pool when it is freed.
    public func cache(copying source: KVCache, length: Int? = nil, capacity: Int) -> KVCache {
        KVCache(copying: source, length: length, capacity: capacity, recycler: cacheBuffers)
    }

    /// Bytes the idle workspaces' buffers hold now.
    public var workBytes: Int { lock.withLock { idle.map(\.bytes).reduce(0, +) } }

    /// Bytes the freed caches' kept buffers hold now (at most: pages are resident only once written).
    public var keptCacheBytes: Int { cacheBuffers.bytes }

    /// Frees the idle workspaces' buffers and the kept cache buffers (they are allocated again when next used).
    public func release() {
        lock.withLock { idle.forEach { $0.release() } }
        cacheBuffers.release()
    }
}
