import CKernels
import Foundation
import OPTKernels
import OPTModel

/// The loss of a packed batch and its gradient with respect to every parameter, written by hand
/// layer by layer over buffers kept between steps (as llm.c does).
///
/// The forward pass keeps what the backward pass needs: each layer's input stream, the normalised
/// inputs of its projections, queries, keys, values, attention outputs, each row's log-sum-exp of
/// the attention scores, and the FFN pre-activations. Attention probabilities are not kept: the
/// backward pass recomputes them from the scores and the log-sum-exp (FlashAttention's trade), and
/// dropout masks are regenerated from their seed, so memory grows with tokens, not tokens².
public final class TrainingGraph {
    public let layout: ParameterLayout
    public let pool: ComputePool
    let config: OPTConfig
    let activation: Ops.Activation
    let ops: TrainingOps
    /// The element type of the inputs of every product but attention's, and the library doing them.
    public let precision: MatmulPrecision
    public let library: MatmulLibrary

    /// Rows of logits computed at once by the loss (bounds the logits buffer).
    static let lossChunk = 256

    private var rowsCapacity = 0
    private var segmentCapacity = 0
    // Saved activations, one entry per layer unless named otherwise.
    private var stream: [FloatBuffer] = []          // layers + 1 residual streams, [rows, hidden]
    private var attnIn: [FloatBuffer] = [], q: [FloatBuffer] = [], k: [FloatBuffer] = [], v: [FloatBuffer] = []
    private var context: [FloatBuffer] = []
    private var residual1: [FloatBuffer] = [], mid: [FloatBuffer] = [], ffnIn: [FloatBuffer] = []
    private var preActivation: [FloatBuffer] = [], residual2: [FloatBuffer] = []
    private var stats: [FloatBuffer] = []           // per layer: mean1, rstd1, mean2, rstd2 ([4, rows])
    private var embedded = FloatBuffer(count: 0), finalStats = FloatBuffer(count: 0)
    private var finalOut = FloatBuffer(count: 0), projected = FloatBuffer(count: 0)
    // Scratch shared by the layers.
    private var grad = FloatBuffer(count: 0), gradMid = FloatBuffer(count: 0), gradTemp = FloatBuffer(count: 0)
    private var dq = FloatBuffer(count: 0), dk = FloatBuffer(count: 0), dv = FloatBuffer(count: 0)
    private var hidden = FloatBuffer(count: 0), gradHidden = FloatBuffer(count: 0)
    private var scores = FloatBuffer(count: 0)      // per thread: two [segment, segment] blocks
    private var logits = FloatBuffer(count: 0), selected = FloatBuffer(count: 0), gradSelected = FloatBuffer(count: 0)

    /// A graph whose linear layers and lm_head multiply in `precision` through `library` (bf16 needs oneDNN:
    /// on BLAS it runs in f32, and `precision` says so). Attention's per-head products stay f32 on BLAS.
    public init(layout: ParameterLayout, threads: Int? = nil, precision: MatmulPrecision = .f32, library: MatmulLibrary = .preferred) {
        self.layout = layout
        self.library = library
        self.precision = library.supports(precision) ? precision : .f32
        config = layout.config
        pool = ComputePool(threads: threads)
        activation = Ops.Activation(rawValue: config.activationFunction) ?? .relu
        ops = TrainingOps(pool: pool, width: config.hiddenSize, precision: self.precision, library: library)
    }

    /// What one forward (and backward) pass gives.
    public struct Result: Sendable {
        /// Σ of the cross-entropy over the positions with a target.
        public var lossSum: Double
        public var labels: Int
    }

    /// The logits `[rows × length, vocab]` of every position of `batch`, without dropout: what the loss reads (for
    /// checking this forward pass against the inference one).
    func logits(_ batch: PackedBatch, parameters: ParameterVector) throws -> [Float] {
        let top = try forward(batch, parameters: parameters, masks: Masks(seed: 0, rates: .none))
        let rows = batch.rows * batch.length, vocab = config.vocabSize, e = config.wordEmbedProjDim
        let logits = FloatBuffer(count: rows * vocab)
        BLAS.sgemm(pool: pool, transposeA: false, transposeB: true, m: rows, n: vocab, k: e,
                   a: top, lda: e, b: parameters.pointer + layout.lmHead.offset, ldb: e, c: logits.pointer, ldc: vocab)
        return logits.array
    }

    /// Embeddings, every layer, the final layer norm and project_out over `batch`, keeping what the backward pass
    /// needs; returns the rows the lm_head reads.
    private func forward(_ batch: PackedBatch, parameters: ParameterVector, masks: Masks) throws -> UnsafeMutablePointer<Float> {
        try validate(batch)
        let rows = batch.rows * batch.length
        let longest = batch.segments.map(\.count).max() ?? 0
        reserve(rows: rows, segment: longest)
        let p = UnsafePointer(parameters.pointer)
        let c = config, h = c.hiddenSize, e = c.wordEmbedProjDim, f = c.ffnDim

        // Embeddings.
        let x0 = stream[0].pointer
        let tokenRows = layout.projectIn == nil ? x0 : embedded.pointer
        for r in 0..<rows { (tokenRows + r * e).update(from: p + layout.embedTokens.offset + Int(batch.tokens[r]) * e, count: e) }
        if let projectIn = layout.projectIn { ops.linear(tokenRows, rows: rows, projectIn, p, into: x0) }
        for r in 0..<rows {
            Ops.add(p + layout.embedPositions.offset + (Int(batch.positions[r]) + OPTConfig.positionOffset) * h, into: x0 + r * h, count: h)
        }
        ops.dropout(masks.embedding, x0, count: rows * h)

        for (l, layer) in layout.layers.enumerated() {
            let s = stats[l].pointer
            let input = stream[l].pointer, output = stream[l + 1].pointer
            let pre = c.doLayerNormBefore
            let attentionInput = pre ? attnIn[l].pointer : input
            if pre { ops.layerNorm(input, rows: rows, width: h, layer.attentionNorm, p, mean: s, rstd: s + rows, into: attentionInput) }
            ops.linear(attentionInput, rows: rows, layer.q, p, into: q[l].pointer)
            let scaling = 1 / Float(c.headDim).squareRoot()
            ops.scale(q[l].pointer, count: rows * h, by: scaling)
            ops.linear(attentionInput, rows: rows, layer.k, p, into: k[l].pointer)
            ops.linear(attentionInput, rows: rows, layer.v, p, into: v[l].pointer)
            attentionForward(layer: l, batch: batch, mask: masks.attention(l))
            let r1 = residual1[l].pointer, x1 = mid[l].pointer
            ops.linear(context[l].pointer, rows: rows, layer.out, p, into: r1)
            ops.dropout(masks.residual(l, 0), r1, count: rows * h)
            ops.add(input, into: r1, count: rows * h)
            if pre { ops.copy(r1, count: rows * h, into: x1) } else {
                ops.layerNorm(r1, rows: rows, width: h, layer.attentionNorm, p, mean: s, rstd: s + rows, into: x1)
            }

            let ffnInput = pre ? ffnIn[l].pointer : x1
            if pre { ops.layerNorm(x1, rows: rows, width: h, layer.finalNorm, p, mean: s + 2 * rows, rstd: s + 3 * rows, into: ffnInput) }
            let hPre = preActivation[l].pointer
            ops.linear(ffnInput, rows: rows, layer.fc1, p, into: hPre)
            activate(hPre, count: rows * f, mask: masks.activation(l), into: hidden.pointer)
            let r2 = pre ? output : residual2[l].pointer
            ops.linear(hidden.pointer, rows: rows, layer.fc2, p, into: r2)
            ops.dropout(masks.residual(l, 1), r2, count: rows * h)
            ops.add(x1, into: r2, count: rows * h)
            if !pre { ops.layerNorm(r2, rows: rows, width: h, layer.finalNorm, p, mean: s + 2 * rows, rstd: s + 3 * rows, into: output) }
        }
        let last = stream[layout.layers.count].pointer
        var top = last
        if let norm = layout.finalNorm {
            ops.layerNorm(last, rows: rows, width: h, norm, p, mean: finalStats.pointer, rstd: finalStats.pointer + rows, into: finalOut.pointer)
            top = finalOut.pointer
        }
        if let projectOut = layout.projectOut {
            ops.linear(top, rows: rows, projectOut, p, into: projected.pointer)
            top = projected.pointer
        }
        return top
    }

    /// Runs `batch` forward and, when `gradients` is given, backward, adding ∂(lossScale · Σ loss)/∂θ
    /// into `gradients`. Dropout draws from `dropoutSeed`; `DropoutRates.none` makes the pass exact.
    public func run(_ batch: PackedBatch, parameters: ParameterVector, gradients: ParameterVector?,
                    lossScale: Float = 1, dropout: DropoutRates = .none, dropoutSeed: UInt64 = 0) throws -> Result {
        let masks = Masks(seed: dropoutSeed, rates: dropout)
        let top = try forward(batch, parameters: parameters, masks: masks)
        let rows = batch.rows * batch.length
        let p = UnsafePointer(parameters.pointer)
        let c = config, h = c.hiddenSize, e = c.wordEmbedProjDim, f = c.ffnDim
        let last = stream[layout.layers.count].pointer

        let g = gradients.map { $0.pointer }
        let dTop = layout.projectOut == nil ? grad.pointer : gradTemp.pointer
        let result = loss(top, batch: batch, parameters: p, gradients: g, lossScale: lossScale, dTop: dTop)
        guard let g else { return result }

        // Backward, mirror image of the above; `grad` holds ∂loss/∂(current stream).
        if let projectOut = layout.projectOut {
            ops.linearBackward(dTop, layout.finalNorm == nil ? last : finalOut.pointer, rows: rows, projectOut, p, g, dx: grad.pointer)
        }
        if let norm = layout.finalNorm {
            gradMid.pointer.update(from: grad.pointer, count: rows * h)
            ops.layerNormBackward(gradMid.pointer, last, rows: rows, width: h, norm, p, g,
                                  mean: finalStats.pointer, rstd: finalStats.pointer + rows, dx: grad.pointer, accumulate: false)
        }
        for (l, layer) in layout.layers.enumerated().reversed() {
            let s = stats[l].pointer, pre = c.doLayerNormBefore
            let input = stream[l].pointer, x1 = mid[l].pointer
            let dOut = grad.pointer, dMid = gradMid.pointer, temp = gradTemp.pointer
            // FFN block: dOut → dMid (∂/∂x1).
            if pre { ops.copy(dOut, count: rows * h, into: dMid) } else {
                ops.layerNormBackward(dOut, residual2[l].pointer, rows: rows, width: h, layer.finalNorm, p, g,
                                      mean: s + 2 * rows, rstd: s + 3 * rows, dx: dMid, accumulate: false)
            }
            // dMid now also is ∂/∂(fc2 output after dropout).
            ops.copy(dMid, count: rows * h, into: temp)
            ops.dropout(masks.residual(l, 1), temp, count: rows * h)
            let hPre = preActivation[l].pointer
            activate(hPre, count: rows * f, mask: masks.activation(l), into: hidden.pointer)
            let dHidden = gradHidden.pointer
            ops.linearBackward(temp, hidden.pointer, rows: rows, layer.fc2, p, g, dx: dHidden)
            ops.dropout(masks.activation(l), dHidden, count: rows * f)
            ops.elementwise(rows * f) { activation.backward(hPre + $0.lowerBound, dHidden + $0.lowerBound, count: $0.count) }
            let ffnInput = pre ? ffnIn[l].pointer : x1
            if pre {
                ops.linearBackward(dHidden, ffnInput, rows: rows, layer.fc1, p, g, dx: temp)
                ops.layerNormBackward(temp, x1, rows: rows, width: h, layer.finalNorm, p, g,
                                      mean: s + 2 * rows, rstd: s + 3 * rows, dx: dMid, accumulate: true)
            } else {
                ops.linearBackward(dHidden, ffnInput, rows: rows, layer.fc1, p, g, dx: dMid, accumulate: true)
            }
            // Attention block: dMid → dOut (reused as ∂/∂input).
            let dResidual1 = dOut
            if pre { ops.copy(dMid, count: rows * h, into: dResidual1) } else {
                ops.layerNormBackward(dMid, residual1[l].pointer, rows: rows, width: h, layer.attentionNorm, p, g,
                                      mean: s, rstd: s + rows, dx: dResidual1, accumulate: false)
            }
            ops.copy(dResidual1, count: rows * h, into: temp)
            ops.dropout(masks.residual(l, 0), temp, count: rows * h)
            let dContext = dMid
            ops.linearBackward(temp, context[l].pointer, rows: rows, layer.out, p, g, dx: dContext)
            attentionBackward(layer: l, batch: batch, dContext: dContext, mask: masks.attention(l))
            let scaling = 1 / Float(c.headDim).squareRoot()
            ops.scale(dq.pointer, count: rows * h, by: scaling)
            let attentionInput = pre ? attnIn[l].pointer : input
            ops.linearBackward(dq.pointer, attentionInput, rows: rows, layer.q, p, g, dx: temp)
            ops.linearBackward(dk.pointer, attentionInput, rows: rows, layer.k, p, g, dx: temp, accumulate: true)
            ops.linearBackward(dv.pointer, attentionInput, rows: rows, layer.v, p, g, dx: temp, accumulate: true)
            if pre {
                ops.layerNormBackward(temp, input, rows: rows, width: h, layer.attentionNorm, p, g,
                                      mean: s, rstd: s + rows, dx: dResidual1, accumulate: true)
            } else {
                ops.add(temp, into: dResidual1, count: rows * h)
            }
        }
        // Embeddings: `grad` is ∂/∂x0.
        let dx0 = grad.pointer
        ops.dropout(masks.embedding, dx0, count: rows * h)
        for r in 0..<rows {
            Ops.add(dx0 + r * h, into: g + layout.embedPositions.offset + (Int(batch.positions[r]) + OPTConfig.positionOffset) * h, count: h)
        }
        var dTokens = dx0
        if let projectIn = layout.projectIn {
            ops.linearBackward(dx0, embedded.pointer, rows: rows, projectIn, p, g, dx: gradTemp.pointer)
            dTokens = gradTemp.pointer
        }
        for r in 0..<rows { Ops.add(dTokens + r * e, into: g + layout.embedTokens.offset + Int(batch.tokens[r]) * e, count: e) }
        return result
    }

    // MARK: - Pieces

    /// The dropout masks of one pass, one site per place dropout applies.
    private struct Masks {
        let seed: UInt64
        let rates: DropoutRates
        var embedding: DropoutMask { DropoutMask(seed: seed, site: 1, probability: rates.embedding) }
        func residual(_ layer: Int, _ block: Int) -> DropoutMask {
            DropoutMask(seed: seed, site: UInt64(16 + layer * 4 + block), probability: rates.residual)
        }
        func attention(_ layer: Int) -> DropoutMask { DropoutMask(seed: seed, site: UInt64(16 + layer * 4 + 2), probability: rates.attention) }
        func activation(_ layer: Int) -> DropoutMask { DropoutMask(seed: seed, site: UInt64(16 + layer * 4 + 3), probability: rates.activation) }
    }

    /// y = dropout(act(x)).
    private func activate(_ x: UnsafePointer<Float>, count: Int, mask: DropoutMask, into y: UnsafeMutablePointer<Float>) {
        ops.elementwise(count) { range in
            let from = x + range.lowerBound, to = y + range.lowerBound
            to.update(from: from, count: range.count)
            activation.apply(to, count: range.count)
            mask.apply(to, count: range.count, offset: range.lowerBound)
        }
    }

    private func validate(_ batch: PackedBatch) throws {
        let c = config, n = batch.rows * batch.length
        guard batch.rows > 0, batch.length > 0, batch.tokens.count == n, batch.positions.count == n, batch.targets.count == n else {
            throw ModelError.invalidArgument("training batch: tokens, positions and targets must each hold rows × length values")
        }
        for id in batch.tokens where id < 0 || Int(id) >= c.vocabSize {
            throw ModelError.invalidTokenID(Int(id), vocabularySize: c.vocabSize)
        }
        for id in batch.targets where id < -1 || Int(id) >= c.vocabSize {
            throw ModelError.invalidTokenID(Int(id), vocabularySize: c.vocabSize)
        }
        if let position = batch.positions.max(), Int(position) >= c.maxPositionEmbeddings {
            throw ModelError.promptTooLong(tokens: Int(position) + 1, limit: c.maxPositionEmbeddings)
        }
        var covered = Array(repeating: false, count: n)
        for s in batch.segments {
            guard s.row >= 0, s.row < batch.rows, s.start >= 0, s.count > 0, s.start + s.count <= batch.length else {
                throw ModelError.invalidArgument("training batch: segment \(s) lies outside its row")
            }
            for i in 0..<s.count {
                guard !covered[s.row * batch.length + s.start + i] else {
                    throw ModelError.invalidArgument("training batch: segments overlap at row \(s.row)")
                }
                covered[s.row * batch.length + s.start + i] = true
            }
        }
        guard covered.allSatisfy({ $0 }) else { throw ModelError.invalidArgument("training batch: segments must cover every token") }
    }

    private func reserve(rows: Int, segment: Int) {
        let c = config, h = c.hiddenSize, e = c.wordEmbedProjDim, layers = c.numHiddenLayers
        if segment > segmentCapacity || rows > rowsCapacity {
            segmentCapacity = max(segment, segmentCapacity)
            scores = FloatBuffer(count: pool.threads * 2 * segmentCapacity * segmentCapacity)
        }
        guard rows > rowsCapacity else { return }
        rowsCapacity = rows
        func each(_ width: Int, _ count: Int = layers) -> [FloatBuffer] { (0..<count).map { _ in FloatBuffer(count: rows * width) } }
        let pre = c.doLayerNormBefore
        stream = each(h, layers + 1)
        attnIn = pre ? each(h) : []
        q = each(h); k = each(h); v = each(h); context = each(h)
        residual1 = each(h); mid = each(h)
        ffnIn = pre ? each(h) : []
        preActivation = each(c.ffnDim)
        residual2 = pre ? [] : each(h)
        stats = each(4)
        embedded = FloatBuffer(count: layout.projectIn == nil ? 0 : rows * e)
        finalStats = FloatBuffer(count: 2 * rows)
        finalOut = FloatBuffer(count: layout.finalNorm == nil ? 0 : rows * h)
        projected = FloatBuffer(count: layout.projectOut == nil ? 0 : rows * e)
        grad = FloatBuffer(count: rows * h); gradMid = FloatBuffer(count: rows * h)
        gradTemp = FloatBuffer(count: rows * max(h, e))
        dq = FloatBuffer(count: rows * h); dk = FloatBuffer(count: rows * h); dv = FloatBuffer(count: rows * h)
        hidden = FloatBuffer(count: rows * c.ffnDim); gradHidden = FloatBuffer(count: rows * c.ffnDim)
        let chunk = Self.lossChunk
        logits = FloatBuffer(count: chunk * c.vocabSize)
        selected = FloatBuffer(count: chunk * e); gradSelected = FloatBuffer(count: chunk * e)
    }

    /// Attention of each segment's queries over its own earlier keys: (row, head) pairs in parallel. Queries go in
    /// blocks, each against the keys its last query sees, so a segment computes about half the scores of a full square.
    private func attentionForward(layer l: Int, batch: PackedBatch, mask: DropoutMask) {
        let c = config, h = c.hiddenSize, d = c.headDim, heads = c.numAttentionHeads, length = batch.length
        let Q = q[l].pointer, K = k[l].pointer, V = v[l].pointer, out = context[l].pointer
        let segments = batch.segments, block = segmentCapacity * segmentCapacity, scratch = scores.pointer
        pool.forEachChunk(batch.rows * heads) { slot, pairs in
            let S = scratch + slot * 2 * block
            for pair in pairs {
                let row = pair / heads, head = pair % heads
                for segment in segments where segment.row == row {
                    let base = (row * length + segment.start) * h + head * d
                    for queries in Self.queryBlocks(segment.count) {
                        let seen = queries.upperBound, first = base + queries.lowerBound * h
                        BLAS.sgemm(transposeA: false, transposeB: true, m: queries.count, n: seen, k: d,
                                   a: Q + first, lda: h, b: K + base, ldb: h, c: S, ldc: seen)
                        for i in queries {
                            let s = S + (i - queries.lowerBound) * seen
                            ck_softmax_f32(s, i + 1)
                            (s + i + 1).update(repeating: 0, count: seen - i - 1)
                            mask.apply(s, count: i + 1, offset: dropoutIndex(pair, segment, i, length))
                        }
                        BLAS.sgemm(transposeA: false, transposeB: false, m: queries.count, n: d, k: seen,
                                   a: S, lda: seen, b: V + base, ldb: h, c: out + first, ldc: h)
                    }
                }
            }
        }
    }

    /// Queries per block of the attention products.
    static let attentionBlock = 128

    /// A segment's queries `0..<count` in blocks of `attentionBlock`.
    private static func queryBlocks(_ count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: attentionBlock).map { $0..<min(count, $0 + attentionBlock) }
    }

    /// Where a segment's row `i` of attention probabilities starts among the dropout mask's elements.
    private func dropoutIndex(_ pair: Int, _ segment: PackedBatch.Segment, _ i: Int, _ length: Int) -> Int {
        (pair * length + segment.start + i) * length
    }

    /// dq, dk, dv from ∂/∂context, recomputing each block's probabilities as the forward pass computed them.
    private func attentionBackward(layer l: Int, batch: PackedBatch, dContext: UnsafePointer<Float>, mask: DropoutMask) {
        let c = config, h = c.hiddenSize, d = c.headDim, heads = c.numAttentionHeads, length = batch.length
        let Q = q[l].pointer, K = k[l].pointer, V = v[l].pointer
        let dQ = dq.pointer, dK = dk.pointer, dV = dv.pointer
        let segments = batch.segments, block = segmentCapacity * segmentCapacity, scratch = scores.pointer
        pool.forEachChunk(batch.rows * heads) { slot, pairs in
            let P = scratch + slot * 2 * block, dP = P + block
            for pair in pairs {
                let row = pair / heads, head = pair % heads
                for segment in segments where segment.row == row {
                    let base = (row * length + segment.start) * h + head * d
                    // dK and dV gather from every later block.
                    for r in 0..<segment.count {
                        (dK + base + r * h).update(repeating: 0, count: d)
                        (dV + base + r * h).update(repeating: 0, count: d)
                    }
                    for queries in Self.queryBlocks(segment.count) {
                        let seen = queries.upperBound, first = base + queries.lowerBound * h
                        BLAS.sgemm(transposeA: false, transposeB: true, m: queries.count, n: seen, k: d,
                                   a: Q + first, lda: h, b: K + base, ldb: h, c: P, ldc: seen)
                        // P = softmax(S); then its dropped-out copy in dP, for dV.
                        for i in queries {
                            let s = P + (i - queries.lowerBound) * seen, sd = dP + (i - queries.lowerBound) * seen
                            ck_softmax_f32(s, i + 1)
                            (s + i + 1).update(repeating: 0, count: seen - i - 1)
                            sd.update(from: s, count: seen)
                            mask.apply(sd, count: i + 1, offset: dropoutIndex(pair, segment, i, length))
                        }
                        BLAS.sgemm(transposeA: true, transposeB: false, m: seen, n: d, k: queries.count,
                                   a: dP, lda: seen, b: dContext + first, ldb: h, beta: 1, c: dV + base, ldc: h)
                        // ∂/∂(dropped P) = dContext · Vᵀ, then through the mask, then the softmax.
                        BLAS.sgemm(transposeA: false, transposeB: true, m: queries.count, n: seen, k: d,
                                   a: dContext + first, lda: h, b: V + base, ldb: h, c: dP, ldc: seen)
                        for i in queries {
                            let s = P + (i - queries.lowerBound) * seen, ds = dP + (i - queries.lowerBound) * seen
                            mask.apply(ds, count: i + 1, offset: dropoutIndex(pair, segment, i, length))
                            ck_softmax_backward_f32(s, ds, i + 1)
                            (ds + i + 1).update(repeating: 0, count: seen - i - 1)
                        }
                        BLAS.sgemm(transposeA: false, transposeB: false, m: queries.count, n: d, k: seen,
                                   a: dP, lda: seen, b: K + base, ldb: h, c: dQ + first, ldc: h)
                        BLAS.sgemm(transposeA: true, transposeB: false, m: seen, n: d, k: queries.count,
                                   a: dP, lda: seen, b: Q + first, ldb: h, beta: 1, c: dK + base, ldc: h)
                    }
                }
            }
        }
    }

    /// Cross-entropy over the positions with targets, through the lm_head in chunks of rows; with
    /// gradients, writes ∂/∂top into `dTop` (zero on rows without a target) and adds the head's gradient.
    private func loss(_ top: UnsafePointer<Float>, batch: PackedBatch, parameters p: UnsafePointer<Float>,
                      gradients g: UnsafeMutablePointer<Float>?, lossScale: Float, dTop: UnsafeMutablePointer<Float>) -> Result {
        let e = config.wordEmbedProjDim, vocab = config.vocabSize, rows = batch.rows * batch.length
        let labelled = (0..<rows).filter { batch.targets[$0] >= 0 }
        if g != nil { dTop.update(repeating: 0, count: rows * e) }
        let head = p + layout.lmHead.offset
        var total: Double = 0
        for start in stride(from: 0, to: labelled.count, by: Self.lossChunk) {
            let chunk = Array(labelled[start..<min(start + Self.lossChunk, labelled.count)])
            let X = selected.pointer, Z = logits.pointer
            for (i, r) in chunk.enumerated() { (X + i * e).update(from: top + r * e, count: e) }
            BLAS.sgemm(pool: pool, transposeA: false, transposeB: true, m: chunk.count, n: vocab, k: e,
                       a: X, lda: e, b: head, ldb: e, c: Z, ldc: vocab, precision: precision, library: library)
            var losses = Array(repeating: 0.0, count: chunk.count)
            losses.withUnsafeMutableBufferPointer { out in
                pool.forEachChunk(chunk.count) { _, range in
                    for i in range {
                        let z = Z + i * vocab, target = Int(batch.targets[chunk[i]]), logit = z[target]
                        // z becomes softmax(z) (vectorized exponentials), which the gradient needs.
                        out[i] = Double(ck_softmax_f32(z, vocab) - logit)
                        guard g != nil else { continue }
                        // ∂(scale · loss)/∂z = scale · (softmax(z) − onehot(target)).
                        if lossScale != 1 { for j in 0..<vocab { z[j] *= lossScale } }
                        z[target] -= lossScale
                    }
                }
            }
            total += losses.reduce(0, +)
            guard let g else { continue }
            let dX = gradSelected.pointer
            BLAS.sgemm(pool: pool, transposeA: false, transposeB: false, m: chunk.count, n: e, k: vocab,
                       a: Z, lda: vocab, b: head, ldb: e, c: dX, ldc: e, precision: precision, library: library)
            BLAS.sgemm(pool: pool, transposeA: true, transposeB: false, m: vocab, n: e, k: chunk.count,
                       a: Z, lda: vocab, b: X, ldb: e, beta: 1, c: g + layout.lmHead.offset, ldc: e,
                       precision: precision, library: library)
            for (i, r) in chunk.enumerated() { (dTop + r * e).update(from: dX + i * e, count: e) }
        }
        return Result(lossSum: total, labels: labelled.count)
    }
}
