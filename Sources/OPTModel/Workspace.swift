import OPTKernels

/// Scratch buffers of forward passes, kept with the cache and reused step after step, so that
/// generating a token allocates nothing once the first step has sized them.
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
    /// Inputs quantized for int8 GEMM: per row, a scale and `cols` bytes (counted here in floats).
    var quantized = FloatBuffer(count: 0)

    /// Grows the buffers for `rows` token rows (`steps` per sequence) attending over `capacity`
    /// positions, with per-thread scratch for `threads` threads.
    func reserve(rows: Int, steps: Int, capacity: Int, threads: Int, config c: OPTConfig) {
        let h = c.hiddenSize, e = c.wordEmbedProjDim
        for buffer in [\Workspace.x, \.normed, \.q, \.k, \.v, \.attended] { ensure(buffer, rows * h) }
        ensure(\.projected, rows * max(h, e))
        ensure(\.hidden, rows * c.ffnDim)
        ensure(\.embedded, rows * e)
        // A single step keeps the scores of every (row, head) pair; longer inputs one pair per thread.
        ensure(\.scores, (steps == 1 ? rows * c.numAttentionHeads : threads * steps) * capacity)
        ensure(\.tile, threads * WeightMatrix.tileRows * max(h, e, c.ffnDim))
        ensure(\.logits, rows * c.vocabSize)
        ensure(\.quantized, rows * (max(h, e, c.ffnDim) / 4 + 2))
    }

    /// Grows the attention scores to `count` floats.
    func reserveScores(_ count: Int) { ensure(\.scores, count) }

    private func ensure(_ buffer: ReferenceWritableKeyPath<Workspace, FloatBuffer>, _ count: Int) {
        if self[keyPath: buffer].count < count { self[keyPath: buffer] = FloatBuffer(count: count) }
    }
}

/// Scratch space of `OPTModel.forward(sequences:workspace:)`: one per engine loop, reused step after step.
public final class SequenceWorkspace: @unchecked Sendable {
    let workspace = Workspace()
    public init() {}
}
