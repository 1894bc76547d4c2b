import CKernels
import Foundation
import OPTCheckpoint
import OPTKernels

/// An OPT / OPT-IML causal language model loaded from a Hugging Face checkpoint directory.
public final class OPTModel: Sendable {
    public let config: OPTConfig
    public let weights: OPTWeights
    /// The threads every kernel of this model may use.
    public let pool: ComputePool
    let activation: Ops.Activation

    /// A model from a config and its weights, computing on `threads` threads (default: all cores).
    public init(config: OPTConfig, weights: OPTWeights, threads: Int? = nil) {
        self.config = config
        self.weights = weights
        pool = ComputePool(threads: threads)
        activation = Ops.Activation(rawValue: config.activationFunction) ?? .relu
    }

    /// Loads `config.json` and the weights (safetensors or pytorch_model.bin, sharded or not) of `directory`.
    ///
    /// `format` nil keeps the stored precision; otherwise matrices are converted (or quantized) at load.
    /// `headFormat` sets the lm_head's apart (`OPTWeights`); the config then unties it, as the weights do.
    /// `calibration` rounds the matrices converted to int4 by GPTQ (`OPTWeights`).
    public convenience init(directory: URL, format: WeightFormat? = nil, headFormat: WeightFormat? = nil,
                            threads: Int? = nil, calibration: CalibrationStatistics? = nil) throws {
        var config = try OPTConfig.load(from: directory.appendingPathComponent("config.json"))
        let checkpoint = try Checkpoint(directory: directory)
        let weights = try OPTWeights(checkpoint: checkpoint, config: config, directory: directory.path, format: format,
                                     headFormat: headFormat, threads: threads, calibration: calibration)
        config.tieWordEmbeddings = weights.layout.tiedHead
        self.init(config: config, weights: weights, threads: threads)
    }

    /// Number of parameters, counting a tied lm_head once.
    public var parameterCount: Int {
        weights.namedMatrices.map(\.slot.count).reduce(0, +) + weights.namedFloatTensors.map(\.slot.count).reduce(0, +)
    }

    /// Which positions of a forward pass need logits.
    public enum LogitPositions: Sendable {
        /// Every position.
        case all
        /// The last position (generation).
        case last
        /// The last n positions (scoring continuations).
        case suffix(Int)

        /// How many of `steps` positions this selects.
        func count(of steps: Int) -> Int {
            switch self {
            case .all: steps
            case .last: 1
            case .suffix(let n): min(max(n, 1), steps)
            }
        }
    }

    /// One sequence's part of a `forward(sequences:)` call: its new tokens, its own cache and the logits it needs.
    public struct SequenceStep {
        public let tokens: [Int]
        public let cache: KVCache
        public let logits: LogitPositions
        public init(tokens: [Int], cache: KVCache, logits: LogitPositions) {
            self.tokens = tokens
            self.cache = cache
            self.logits = logits
        }
    }

    /// Runs several sequences, each with its own cache and any number of new tokens (a prompt, or the
    /// one token of a decoding step), through one forward pass: the projections and the lm_head see
    /// every row at once, attention runs per sequence over its own cache. Generation, scoring and the
    /// server's continuous batching (sequences join a running batch and leave it at token boundaries)
    /// all run on it; only the positions `logits` selects go through project_out and the (large) lm_head.
    ///
    /// Hands `read` each sequence's logits (`[positions][vocab]`). They live in `workspace`, which its next call
    /// overwrites: they can be used only inside `read`, while the workspace is kept alive. Throws, before any
    /// cache changes, when ids are outside the vocabulary or a cache or the position table would overflow.
    public func forward<Result>(sequences: [SequenceStep], workspace: SequenceWorkspace,
                                _ read: ([UnsafeMutableBufferPointer<Float>]) throws -> Result) throws -> Result {
        guard !sequences.isEmpty else { return try read([]) }
        for s in sequences {
            guard !s.tokens.isEmpty else { throw ModelError.invalidArgument("forward(sequences:): each sequence needs tokens") }
            guard s.cache.length + s.tokens.count <= s.cache.capacity else {
                throw ModelError.promptTooLong(tokens: s.cache.length + s.tokens.count, limit: s.cache.capacity)
            }
            guard s.cache.length + s.tokens.count <= config.maxPositionEmbeddings else {
                throw ModelError.promptTooLong(tokens: s.cache.length + s.tokens.count, limit: config.maxPositionEmbeddings)
            }
            for id in s.tokens where id < 0 || id >= config.vocabSize { throw ModelError.invalidTokenID(id, vocabularySize: config.vocabSize) }
        }
        let ws = workspace.workspace
        let shape = stepShape(sequences.map { ($0.tokens.count, $0.cache.capacity, $0.logits) })
        ws.reserve(rows: shape.rows, logitRows: shape.logitRows, steps: shape.longest, capacity: shape.capacity, threads: pool.threads, config: config)
        var offsets: [Int] = [], positions: [Int] = [], offset = 0
        for s in sequences {
            offsets.append(offset)
            offset += s.tokens.count
            positions += s.cache.append(count: s.tokens.count)
        }
        embed(tokens: sequences.flatMap(\.tokens), positions: positions, workspace: ws)
        // One sequence's keys and values are projected straight into its cache, whose next positions are their
        // rows in order; several sequences' go through the workspace and are copied after their cache's positions.
        let single = sequences.count == 1 ? sequences[0].cache : nil
        let keysValues: (Int) -> (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) = { layer in
            guard let cache = single else { return (ws.k.pointer, ws.v.pointer) }
            let start = cache.offset(position: cache.length - shape.rows)
            return (cache.keys[layer].pointer + start, cache.values[layer].pointer + start)
        }
        // Sequences at a decoding step (one new token) attend together, in one parallel loop over their heads.
        let decoding = zip(sequences, offsets).filter { $0.0.tokens.count == 1 }.map { (cache: $0.0.cache, rowOffset: $0.1) }
        runLayers(rows: shape.rows, workspace: ws, keysValues: keysValues) { index in
            for (s, rowOffset) in zip(sequences, offsets) {
                if single == nil { store(layer: index, steps: s.tokens.count, cache: s.cache, workspace: ws, rowOffset: rowOffset) }
                if s.tokens.count > 1 { attention(layer: index, steps: s.tokens.count, cache: s.cache, workspace: ws, rowOffset: rowOffset) }
            }
            decodeAttention(layer: index, sequences: decoding, workspace: ws, capacity: shape.capacity)
        }
        let selected = zip(sequences, offsets).map { s, start in
            let n = s.logits.count(of: s.tokens.count)
            return (start + s.tokens.count - n)..<(start + s.tokens.count)
        }
        let logits = head(selectedRows: selected, workspace: ws)
        var results: [UnsafeMutableBufferPointer<Float>] = [], at = 0
        for range in selected {
            results.append(UnsafeMutableBufferPointer(start: logits + at * config.vocabSize, count: range.count * config.vocabSize))
            at += range.count
        }
        return try withExtendedLifetime(workspace) { try read(results) }
    }

    /// Bytes of work buffers `forward(sequences:workspace:)` needs for one step of sequences with
    /// these new tokens, cache capacities and logit positions (what a server adds to its KV caches
    /// when it budgets memory).
    public func workspaceBytes(_ steps: [(tokens: Int, capacity: Int, logits: LogitPositions)]) -> Int {
        guard !steps.isEmpty else { return 0 }
        let shape = stepShape(steps)
        return Workspace.bytes(rows: shape.rows, logitRows: shape.logitRows, steps: shape.longest, capacity: shape.capacity,
                               threads: pool.threads, config: config)
    }

    /// Rows, rows through the lm_head, longest input and largest capacity of a `forward(sequences:)` step.
    private func stepShape(_ steps: [(tokens: Int, capacity: Int, logits: LogitPositions)]) -> (rows: Int, logitRows: Int, longest: Int, capacity: Int) {
        (steps.map(\.tokens).reduce(0, +), steps.map { $0.logits.count(of: $0.tokens) }.reduce(0, +),
         steps.map(\.tokens).max() ?? 1, steps.map(\.capacity).max() ?? 1)
    }

    /// Every decoder layer over `rows` rows of `ws.x`, then the final layer norm; a layer's keys and values go
    /// where `keysValues(layer)` says, then `attend(layer)` fills `ws.attended` from `ws.q` and the caches.
    private func runLayers(rows: Int, workspace ws: Workspace,
                           keysValues: (Int) -> (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>),
                           attend: (Int) -> Void) {
        let c = config
        let x = ws.x.pointer, normed = ws.normed.pointer, projected = ws.projected.pointer
        // transformers scales the projected queries (bias included) before the dot products.
        let scaling = 1 / Float(c.headDim).squareRoot()
        for (index, (layer, slots)) in zip(weights.layers, weights.layout.layers).enumerated() {
            // Self-attention block (pre-LN normalises its input; post-LN its output, after the residual).
            let attnInput = c.doLayerNormBefore ? normed : x
            if c.doLayerNormBefore { residual(nil, norm: layer.selfAttnLayerNorm, rows: rows, ws, into: normed) }
            ws.inputObserver?([slots.q.weight, slots.k.weight, slots.v.weight], attnInput, rows)
            linear(layer.qProj, attnInput, rows: rows, into: ws.q.pointer, ws, scale: scaling)
            let destination = keysValues(index)
            linear(layer.kProj, attnInput, rows: rows, into: destination.keys, ws)
            linear(layer.vProj, attnInput, rows: rows, into: destination.values, ws)
            attend(index)
            ws.inputObserver?([slots.out.weight], ws.attended.pointer, rows)
            linear(layer.outProj, ws.attended.pointer, rows: rows, into: projected, ws)
            if c.doLayerNormBefore {
                residual(projected, norm: layer.finalLayerNorm, rows: rows, ws, into: normed)
            } else {
                residual(projected, norm: layer.selfAttnLayerNorm, rows: rows, ws, into: x)
            }

            // Feed-forward block.
            let ffnInput = c.doLayerNormBefore ? normed : x
            ws.inputObserver?([slots.fc1.weight], ffnInput, rows)
            linear(layer.fc1, ffnInput, rows: rows, into: ws.hidden.pointer, ws, activation: activation)
            ws.inputObserver?([slots.fc2.weight], ws.hidden.pointer, rows)
            linear(layer.fc2, ws.hidden.pointer, rows: rows, into: projected, ws)
            residual(projected, norm: c.doLayerNormBefore ? nil : layer.finalLayerNorm, rows: rows, ws, into: x)
        }
        if let finalNorm = weights.finalLayerNorm { residual(nil, norm: finalNorm, rows: rows, ws, into: x) }
    }

    /// project_out and the lm_head on the chosen rows of `ws.x` (gathered in order); returns their logits.
    private func head(selectedRows ranges: [Range<Int>], workspace ws: Workspace) -> UnsafeMutablePointer<Float> {
        let h = config.hiddenSize, x = ws.x.pointer
        let total = ranges.map(\.count).reduce(0, +)
        var selected = x
        // Rows already in place (every position, in order) need no gathering.
        let inPlace = zip(ranges, [0] + ranges.map(\.upperBound)).allSatisfy { $0.lowerBound == $1 }
        if !inPlace {
            var at = 0
            for range in ranges {
                (ws.normed.pointer + at * h).update(from: x + range.lowerBound * h, count: range.count * h)
                at += range.count
            }
            selected = ws.normed.pointer
        }
        if let projectOut = weights.projectOut, let slot = weights.layout.projectOut {
            ws.inputObserver?([slot.weight], selected, total)
            linear(projectOut, selected, rows: total, into: ws.projected.pointer, ws)
            selected = ws.projected.pointer
        }
        ws.inputObserver?([weights.layout.lmHead], selected, total)
        weights.lmHead.multiply(selected, count: total, into: ws.logits.pointer, pool: pool,
                                scratch: ws.tile.pointer, quantized: UnsafeMutableRawPointer(ws.quantized.pointer))
        return ws.logits.pointer
    }

    /// Token embeddings (projected in where the config says so) plus learned position embeddings, one row per token.
    private func embed(tokens: [Int], positions: [Int], workspace ws: Workspace) {
        let h = config.hiddenSize, e = config.wordEmbedProjDim, rows = tokens.count
        let tokenEmbeddings = weights.projectIn == nil ? ws.x.pointer : ws.embedded.pointer
        pool.forEachChunk(rows, minimumChunk: Self.rowsPerChunk) { _, range in
            for r in range { weights.embedTokens.toFloat(rows: tokens[r]..<(tokens[r] + 1), into: tokenEmbeddings + r * e) }
        }
        if let projectIn = weights.projectIn, let slot = weights.layout.projectIn {
            ws.inputObserver?([slot.weight], tokenEmbeddings, rows)
            linear(projectIn, tokenEmbeddings, rows: rows, into: ws.x.pointer, ws)
        }
        pool.forEachChunk(rows, minimumChunk: Self.rowsPerChunk) { _, range in
            for r in range {
                ck_add_f32(ws.x.pointer + r * h, weights.embedPositions.pointer + (positions[r] + OPTConfig.positionOffset) * h, h)
            }
        }
    }

    /// output = (input · Wᵀ + bias) · scale, then the activation when given; the row-wise part with the rows in parallel.
    private func linear(_ l: LinearWeights, _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                        _ ws: Workspace, scale: Float = 1, activation: Ops.Activation? = nil) {
        l.weight.multiply(input, count: rows, into: output, pool: pool,
                          scratch: ws.tile.pointer, quantized: UnsafeMutableRawPointer(ws.quantized.pointer),
                          epilogue: Epilogue(bias: l.bias?.pointer, scale: scale, relu: activation == .relu))
        guard let activation, activation != .relu else { return }
        let width = l.outFeatures
        pool.forEachChunk(rows, minimumChunk: Self.rowsPerChunk) { _, range in
            activation.apply(output + range.lowerBound * width, count: range.count * width)
        }
    }

    /// ws.x += added (when given), then output = LayerNorm(x) with `norm` (output must be x without one);
    /// the rows in parallel.
    private func residual(_ added: UnsafePointer<Float>?, norm: LayerNormWeights?, rows: Int, _ ws: Workspace,
                          into output: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize, x = ws.x.pointer
        pool.forEachChunk(rows, minimumChunk: Self.rowsPerChunk) { _, range in
            let offset = range.lowerBound * h
            if let norm {
                ck_add_layer_norm_f32(x + offset, added.map { $0 + offset }, output + offset, range.count, h,
                                      norm.weight?.pointer, norm.bias?.pointer, LayerNormWeights.eps)
            } else if let added {
                ck_add_f32(x + offset, added + offset, range.count * h)
            }
        }
    }

    /// Rows below which a row-wise step stays on one thread.
    private static let rowsPerChunk = 8

    /// Copies this step's keys and values (from row `rowOffset` of the workspace on) into the cache
    /// after the positions already there.
    private func store(layer: Int, steps: Int, cache: KVCache, workspace ws: Workspace, rowOffset: Int) {
        let destination = cache.offset(position: cache.length - steps), source = rowOffset * config.hiddenSize
        (cache.keys[layer].pointer + destination).update(from: ws.k.pointer + source, count: steps * config.hiddenSize)
        (cache.values[layer].pointer + destination).update(from: ws.v.pointer + source, count: steps * config.hiddenSize)
    }

    /// Causal attention of this step's queries (rows from `rowOffset` on, more than one: `decodeAttention` takes single
    /// queries) over every cached position.
    private func attention(layer: Int, steps: Int, cache: KVCache, workspace ws: Workspace, rowOffset: Int) {
        let h = config.hiddenSize, d = config.headDim, heads = config.numAttentionHeads
        let total = cache.length, past = total - steps
        let q = ws.q.pointer + rowOffset * h, attended = ws.attended.pointer + rowOffset * h
        let scratchBytes = ck_attention_f32_scratch(total, d)
        // The scratch was sized when the workspace was reserved: a kernel switched on since (tests switch the instruction
        // set for the whole process) takes the BLAS path below rather than write past it.
        if ck_attention_f32_enabled(d) != 0, pool.threads * scratchBytes <= ws.scores.count * MemoryLayout<Float>.stride {
            // AVX-512 or AVX2: each head in one call over only the keys each block of queries sees, every thread with
            // its own scratch in `scores` (sized for it by `Workspace.sizes`).
            pool.forEachChunk(heads) { slot, range in
                let scratch = UnsafeMutableRawPointer(ws.scores.pointer) + slot * scratchBytes
                for head in range {
                    let offset = head * d
                    ck_attention_f32(q + offset, h, cache.keys[layer].pointer + offset, cache.values[layer].pointer + offset, h,
                                     attended + offset, h, steps, past, d, scratch)
                }
            }
            return
        }
        // Queries go in blocks, each against the keys its last query sees: keys after a query are never
        // attended, so a long prompt's prefill computes about half the scores a full square would.
        let block = 64
        // Heads in parallel, each thread with its own scores.
        pool.forEachChunk(heads) { slot, range in
            let scores = ws.scores.pointer + slot * steps * total
            for head in range {
                let keys = cache.keys[layer].pointer + head * d
                let values = cache.values[layer].pointer + head * d
                for first in stride(from: 0, to: steps, by: block) {
                    let last = min(steps, first + block), seen = past + last
                    let rows = first * h + head * d
                    BLAS.sgemm(transposeA: false, transposeB: true, m: last - first, n: seen, k: d,
                               a: q + rows, lda: h, b: keys, ldb: h, c: scores, ldc: seen)
                    for t in first..<last {
                        // Softmax over the keys this query sees; the block's later keys get weight 0.
                        let row = scores + (t - first) * seen, visible = past + t + 1
                        ck_softmax_f32(row, visible)
                        (row + visible).update(repeating: 0, count: seen - visible)
                    }
                    BLAS.sgemm(transposeA: false, transposeB: false, m: last - first, n: d, k: seen,
                               a: scores, lda: seen, b: values, ldb: h, c: attended + rows, ldc: h)
                }
            }
        }
    }

    /// One new token of each of these sequences (its query in row `rowOffset` of the workspace) over its cache: every
    /// (sequence, head) pair in parallel, each thread with `capacity` scores of its own in `ws.scores` (which `Workspace.sizes`
    /// makes at least that for every thread or every pair).
    private func decodeAttention(layer: Int, sequences: [(cache: KVCache, rowOffset: Int)], workspace ws: Workspace, capacity: Int) {
        let h = config.hiddenSize, d = config.headDim, heads = config.numAttentionHeads
        pool.forEachChunk(sequences.count * heads, piecesPerThread: ComputePool.decodePiecesPerThread) { slot, range in
            let scores = ws.scores.pointer + slot * capacity
            for pair in range {
                let (cache, rowOffset) = sequences[pair / heads]
                let base = (pair % heads) * d, offset = rowOffset * h + base
                ck_attend_one_f32(ws.q.pointer + offset, cache.keys[layer].pointer + base, cache.values[layer].pointer + base, h,
                                  ws.attended.pointer + offset, cache.length, d, scores)
            }
        }
    }
}
