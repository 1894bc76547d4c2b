import Foundation
import OPTCheckpoint
import OPTKernels
import OPTTokenizer

/// An OPT / OPT-IML causal language model loaded from a Hugging Face checkpoint directory.
public final class OPTModel: Sendable {
    public let config: OPTConfig
    public let weights: OPTWeights
    let activation: Ops.Activation

    /// A model from a config and its weights.
    public init(config: OPTConfig, weights: OPTWeights) {
        self.config = config
        self.weights = weights
        activation = Ops.Activation(rawValue: config.activationFunction) ?? .relu
    }

    /// Loads `config.json` and the weights (safetensors or pytorch_model.bin, sharded or not) of `directory`.
    public convenience init(directory: URL) throws {
        let config = try OPTConfig.load(from: directory.appendingPathComponent("config.json"))
        let checkpoint = try Checkpoint(directory: directory)
        self.init(config: config, weights: try OPTWeights(checkpoint: checkpoint, config: config, directory: directory.path))
    }

    /// Number of parameters, counting a tied lm_head once.
    public var parameterCount: Int {
        let w = weights
        func linear(_ l: LinearWeights?) -> Int { guard let l else { return 0 }; return l.weight.count + (l.bias?.count ?? 0) }
        func norm(_ n: LayerNormWeights?) -> Int { (n?.weight?.count ?? 0) + (n?.bias?.count ?? 0) }
        var total = w.embedTokens.count + w.embedPositions.count + linear(w.projectIn) + linear(w.projectOut) + norm(w.finalLayerNorm)
        for l in w.layers {
            total += [l.qProj, l.kProj, l.vProj, l.outProj, l.fc1, l.fc2].map(linear).reduce(0, +)
            total += norm(l.selfAttnLayerNorm) + norm(l.finalLayerNorm)
        }
        if w.lmHead !== w.embedTokens { total += w.lmHead.count }
        return total
    }

    /// Which positions of a forward pass need logits.
    public enum LogitPositions: Sendable {
        /// Every position (scoring).
        case all
        /// The last position of each row (generation).
        case last
    }

    /// Runs `tokens` (`[batch][steps]`, rows left-padded to equal length) through the model,
    /// appending their keys and values to `cache`, and returns logits `[batch][positions][vocab]` flattened.
    ///
    /// `realToken[b][t]` is false for padding. Throws when ids are outside the vocabulary or the
    /// cache or position table would overflow.
    public func forward(tokens: [[Int]], realToken: [[Bool]], cache: KVCache, logits which: LogitPositions) throws -> [Float] {
        let batch = tokens.count
        guard batch == cache.batchSize, let steps = tokens.first?.count, steps > 0,
              tokens.allSatisfy({ $0.count == steps }), realToken.map(\.count) == tokens.map(\.count)
        else { throw ModelError.invalidArgument("forward: tokens must be \(cache.batchSize) rows of equal, non-zero length with a matching mask") }
        guard cache.length + steps <= cache.capacity else {
            throw ModelError.promptTooLong(tokens: cache.length + steps, limit: cache.capacity)
        }
        for row in tokens {
            for id in row where id < 0 || id >= config.vocabSize {
                throw ModelError.invalidTokenID(id, vocabularySize: config.vocabSize)
            }
        }
        let positions = cache.append(rowMask: realToken)
        if let maxPosition = positions.joined().max(), maxPosition >= config.maxPositionEmbeddings {
            throw ModelError.promptTooLong(tokens: maxPosition + 1, limit: config.maxPositionEmbeddings)
        }

        let c = config, h = c.hiddenSize, rows = batch * steps
        let x = FloatBuffer(count: rows * h)
        embed(tokens: tokens, positions: positions, into: x)

        let normed = FloatBuffer(count: rows * h)
        let q = FloatBuffer(count: rows * h), k = FloatBuffer(count: rows * h), v = FloatBuffer(count: rows * h)
        let attended = FloatBuffer(count: rows * h), projected = FloatBuffer(count: rows * h)
        let hidden = FloatBuffer(count: rows * c.ffnDim)
        let scores = FloatBuffer(count: steps * cache.length)
        let scaling = 1 / Float(c.headDim).squareRoot()

        for (index, layer) in weights.layers.enumerated() {
            // Self-attention block.
            let attnInput = c.doLayerNormBefore ? normed.pointer : x.pointer
            if c.doLayerNormBefore { layerNorm(layer.selfAttnLayerNorm, x.pointer, rows: rows, into: normed.pointer) }
            apply(layer.qProj, attnInput, rows: rows, into: q.pointer)
            for i in 0..<(rows * h) { q.pointer[i] *= scaling }
            apply(layer.kProj, attnInput, rows: rows, into: k.pointer)
            apply(layer.vProj, attnInput, rows: rows, into: v.pointer)
            store(k: k, v: v, layer: index, steps: steps, cache: cache)
            attention(q: q, layer: index, steps: steps, cache: cache, scores: scores, into: attended)
            apply(layer.outProj, attended.pointer, rows: rows, into: projected.pointer)
            Ops.add(projected.pointer, into: x.pointer, count: rows * h)
            if !c.doLayerNormBefore { layerNorm(layer.selfAttnLayerNorm, x.pointer, rows: rows, into: x.pointer) }

            // Feed-forward block.
            let ffnInput = c.doLayerNormBefore ? normed.pointer : x.pointer
            if c.doLayerNormBefore { layerNorm(layer.finalLayerNorm, x.pointer, rows: rows, into: normed.pointer) }
            apply(layer.fc1, ffnInput, rows: rows, into: hidden.pointer)
            activation.apply(hidden.pointer, count: rows * c.ffnDim)
            apply(layer.fc2, hidden.pointer, rows: rows, into: projected.pointer)
            Ops.add(projected.pointer, into: x.pointer, count: rows * h)
            if !c.doLayerNormBefore { layerNorm(layer.finalLayerNorm, x.pointer, rows: rows, into: x.pointer) }
        }
        if let finalNorm = weights.finalLayerNorm { layerNorm(finalNorm, x.pointer, rows: rows, into: x.pointer) }

        // Only the positions asked for go through project_out and the (large) lm_head.
        let selected: FloatBuffer
        let selectedRows: Int
        switch which {
        case .all:
            selected = x
            selectedRows = rows
        case .last:
            selectedRows = batch
            selected = FloatBuffer(count: batch * h)
            for b in 0..<batch {
                (selected.pointer + b * h).update(from: x.pointer + ((b + 1) * steps - 1) * h, count: h)
            }
        }
        var final = selected
        if let projectOut = weights.projectOut {
            final = FloatBuffer(count: selectedRows * c.wordEmbedProjDim)
            apply(projectOut, selected.pointer, rows: selectedRows, into: final.pointer)
        }
        var logits = [Float](repeating: 0, count: selectedRows * c.vocabSize)
        logits.withUnsafeMutableBufferPointer { out in
            guard let base = out.baseAddress else { return }
            Ops.linear(final.pointer, rows: selectedRows, inFeatures: c.wordEmbedProjDim,
                       weight: weights.lmHead.pointer, bias: nil, outFeatures: c.vocabSize, into: base)
        }
        return logits
    }

    /// Token embeddings (projected in where the config says so) plus learned position embeddings.
    private func embed(tokens: [[Int]], positions: [[Int]], into x: FloatBuffer) {
        let c = config, h = c.hiddenSize, e = c.wordEmbedProjDim
        let steps = tokens[0].count, rows = tokens.count * steps
        let tokenEmbeddings = c.hasProjection ? FloatBuffer(count: rows * e) : x
        for (b, row) in tokens.enumerated() {
            for (t, id) in row.enumerated() {
                (tokenEmbeddings.pointer + (b * steps + t) * e).update(from: weights.embedTokens.pointer + id * e, count: e)
            }
        }
        if let projectIn = weights.projectIn { apply(projectIn, tokenEmbeddings.pointer, rows: rows, into: x.pointer) }
        for (b, row) in positions.enumerated() {
            for (t, position) in row.enumerated() {
                Ops.add(weights.embedPositions.pointer + (position + OPTConfig.positionOffset) * h,
                        into: x.pointer + (b * steps + t) * h, count: h)
            }
        }
    }

    private func apply(_ l: LinearWeights, _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        Ops.linear(input, rows: rows, inFeatures: l.inFeatures, weight: l.weight.pointer,
                   bias: l.bias?.pointer, outFeatures: l.outFeatures, into: output)
    }

    private func layerNorm(_ n: LayerNormWeights, _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        Ops.layerNorm(input, rows: rows, width: config.hiddenSize, weight: n.weight?.pointer, bias: n.bias?.pointer,
                      eps: LayerNormWeights.eps, into: output)
    }

    /// Copies this step's keys and values into the cache after the positions already there.
    private func store(k: FloatBuffer, v: FloatBuffer, layer: Int, steps: Int, cache: KVCache) {
        let h = config.hiddenSize, start = cache.length - steps
        for b in 0..<cache.batchSize {
            let destination = cache.offset(row: b, position: start)
            (cache.keys[layer].pointer + destination).update(from: k.pointer + b * steps * h, count: steps * h)
            (cache.values[layer].pointer + destination).update(from: v.pointer + b * steps * h, count: steps * h)
        }
    }

    /// Causal, padding-masked attention of this step's queries over every cached position.
    private func attention(q: FloatBuffer, layer: Int, steps: Int, cache: KVCache, scores: FloatBuffer, into out: FloatBuffer) {
        let h = config.hiddenSize, d = config.headDim, total = cache.length, past = total - steps
        for b in 0..<cache.batchSize {
            let keys = cache.keys[layer].pointer + cache.offset(row: b, position: 0)
            let values = cache.values[layer].pointer + cache.offset(row: b, position: 0)
            let rowMask = cache.mask[b]
            for head in 0..<config.numAttentionHeads {
                let queries = q.pointer + b * steps * h + head * d
                BLAS.sgemm(transposeA: false, transposeB: true, m: steps, n: total, k: d,
                           a: queries, lda: h, b: keys + head * d, ldb: h, c: scores.pointer, ldc: total)
                for t in 0..<steps {
                    let row = scores.pointer + t * total
                    for j in 0..<total where !rowMask[j] || j > past + t { row[j] = -.infinity }
                    Ops.softmax(row, count: total)
                }
                BLAS.sgemm(transposeA: false, transposeB: false, m: steps, n: d, k: total,
                           a: scores.pointer, lda: total, b: values + head * d, ldb: h,
                           c: out.pointer + b * steps * h + head * d, ldc: h)
            }
        }
    }
}
