import Foundation
import OPTCheckpoint
import OPTKernels
import OPTModel
import Testing

/// f16, bf16 and int8 weights against f32 on the parity fixtures, and the files that store them.
@Suite("Weight formats", .serialized)
struct WeightFormatTests {
    static let directory = Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded")

    /// Logits of the real positions of the fixture batch, loading `directory` as `format`.
    func batchLogits(_ directory: URL, format: WeightFormat?) throws -> (logits: [Float], vocab: Int) {
        try batchLogits(OPTModel(directory: directory, format: format), batchOf: directory.lastPathComponent)
    }

    /// Logits of the real positions of fixture `name`'s batch under `model` (each row unpadded, in one ragged pass).
    func batchLogits(_ model: OPTModel, batchOf name: String) throws -> (logits: [Float], vocab: Int) {
        let expected = try Fixtures.expected(name)
        let ids = expected.batch_input_ids
        let real = expected.batch_attention_mask.map { $0.map { $0 == 1 } }
        let steps = zip(ids, real).map { row, mask in
            let tokens = zip(row, mask).filter(\.1).map(\.0)
            return OPTModel.SequenceStep(tokens: tokens, cache: KVCache(config: model.config, capacity: tokens.count), logits: .all)
        }
        return (try model.forward(sequences: steps, workspace: SequenceWorkspace()) { $0.flatMap { Array($0) } }, model.config.vocabSize)
    }

    /// Mean cosine similarity and top-1 agreement of two sets of logit rows.
    func agreement(_ a: [Float], _ b: [Float], vocab: Int) -> (cosine: Double, top1: Double) {
        let rows = a.count / vocab
        var cosine = 0.0, same = 0
        for r in 0..<rows {
            let x = a[(r * vocab)..<((r + 1) * vocab)], y = b[(r * vocab)..<((r + 1) * vocab)]
            let dot = zip(x, y).map { Double($0) * Double($1) }.reduce(0, +)
            let nx = x.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            let ny = y.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            cosine += dot / (nx * ny)
            if x.indices.max(by: { x[$0] < x[$1] }) == y.indices.max(by: { y[$0] < y[$1] }) { same += 1 }
        }
        return (cosine / Double(rows), Double(same) / Double(rows))
    }

    @Test("int8 keeps cosine ≥ 0.995 with f32 logits", arguments: Fixtures.modelNames)
    func int8Accuracy(name: String) throws {
        let directory = Fixtures.models.appendingPathComponent(name)
        let reference = try batchLogits(directory, format: .f32)
        let quantized = try batchLogits(directory, format: .int8)
        let (cosine, _) = agreement(reference.logits, quantized.logits, vocab: reference.vocab)
        #expect(cosine >= 0.995, "cosine \(cosine)")
    }

    @Test("f16 and bf16 storage stay close to f32", arguments: [WeightFormat.f16, .bf16])
    func halfAccuracy(format: WeightFormat) throws {
        let reference = try batchLogits(Self.directory, format: .f32)
        let converted = try batchLogits(Self.directory, format: format)
        let (cosine, top1) = agreement(reference.logits, converted.logits, vocab: reference.vocab)
        #expect(cosine >= 0.9999, "cosine \(cosine)")
        #expect(top1 >= 0.95, "top-1 agreement \(top1)")
    }

    /// Logits of every position of one 48-token prompt (past the matrix-vector limit, so prefill takes a GEMM).
    func prefillLogits(format: WeightFormat) throws -> (logits: [Float], vocab: Int) {
        let model = try OPTModel(directory: Self.directory, format: format)
        let vocab = model.config.vocabSize, count = 48
        #expect(count > WeightMatrix.matvecLimit)
        let ids = (0..<count).map { 4 + ($0 * 37) % (vocab - 4) }
        let cache = KVCache(config: model.config, capacity: count)
        let logits = try model.forward(sequences: [.init(tokens: ids, cache: cache, logits: .all)], workspace: SequenceWorkspace()) { Array($0[0]) }
        return (logits, vocab)
    }

    /// Prefill of `format` with the unit GEMMs on or off agrees with f32 as the format's other tests require.
    func checkPrefill(_ format: WeightFormat, unitGEMM: Bool) throws {
        let reference = try prefillLogits(format: .f32)
        let on = KernelPath.useUnitGEMMs(int8: unitGEMM, bf16: unitGEMM)
        defer { KernelPath.useUnitGEMMs() }
        #expect((format == .int8 ? on.int8 : on.bf16) == unitGEMM)
        let converted = try prefillLogits(format: format)
        let (cosine, top1) = agreement(reference.logits, converted.logits, vocab: reference.vocab)
        #expect(cosine >= (format == .int8 ? 0.995 : 0.9999), "cosine \(cosine)")
        if format == .bf16 { #expect(top1 >= 0.95, "top-1 agreement \(top1)") }
    }

    @Test("int8 prefill on the int8 GEMM (AVX-512 VNNI, or oneDNN's AVX2 kernels) agrees with f32",
          .enabled(if: KernelPath.units.int8, "this processor has no int8 GEMM (AVX-512 VNNI, or AVX2 with oneDNN)"))
    func int8PrefillOnUnit() throws { try checkPrefill(.int8, unitGEMM: true) }

    @Test("bf16 prefill on the bf16 GEMM unit (AVX512-BF16) agrees with f32",
          .enabled(if: KernelPath.units.bf16, "this processor has no bf16 GEMM unit (AVX512-BF16)"))
    func bf16PrefillOnUnit() throws { try checkPrefill(.bf16, unitGEMM: true) }

    @Test("int8 and bf16 prefill through f32 tiles and BLAS (the portable GEMM) agree with f32", arguments: [WeightFormat.int8, .bf16])
    func prefillThroughBLAS(format: WeightFormat) throws {
        KernelPath.useOneDNN(false)
        defer { KernelPath.useOneDNN(true) }
        try checkPrefill(format, unitGEMM: false)
    }

    @Test("prefill through oneDNN gives the int8 GEMM's bits, and f32 and converted tiles' within summation order",
          .enabled(if: KernelPath.useOneDNN(true), "oneDNN (libdnnl.so.2) is not installed: prefill runs on BLAS and our kernels"))
    func prefillThroughOneDNN() throws {
        for format in [WeightFormat.f32, .int8, .bf16] {
            let through = try prefillLogits(format: format)
            KernelPath.useOneDNN(false)
            let without = try prefillLogits(format: format)
            KernelPath.useOneDNN(true)
            if format == .int8 && KernelPath.int8GEMM == "avx512vnni" {
                #expect(through.logits.map(\.bitPattern) == without.logits.map(\.bitPattern), "int8")
            } else if format == .int8 && KernelPath.int8GEMM != nil {
                // oneDNN's AVX2 path (7-bit inputs) against f32 tiles without it: the format's agreement.
                let (cosine, _) = agreement(through.logits, without.logits, vocab: through.vocab)
                #expect(cosine >= 0.995, "int8 on oneDNN's AVX2 path: cosine \(cosine)")
            } else {
                let largest = zip(through.logits, without.logits).map { abs($0 - $1) }.max() ?? .infinity
                #expect(largest <= 1e-4, "\(format): logits differ by up to \(largest)")
            }
        }
    }

    @Test("a stored f16 checkpoint computed as f16 matches transformers' f32 upcast")
    func storedHalfMatchesReference() throws {
        let directory = Fixtures.models.appendingPathComponent("tiny-f16-nobias-safetensors")
        let ours = try batchLogits(directory, format: nil).logits
        let reference = try Fixtures.logits("tiny-f16-nobias-safetensors")
        #expect((zip(ours, reference).map { abs($0 - $1) }.max() ?? .infinity) <= 1e-4)
    }

    @Test("matrices already in the wanted format stay in the memory map")
    func zeroCopyLoad() throws {
        let model = try OPTModel(directory: Self.directory)
        #expect(model.weights.namedMatrices.allSatisfy { $0.matrix.owner is Checkpoint })
        let converted = try OPTModel(directory: Self.directory, format: .int8)
        #expect(converted.weights.namedMatrices.allSatisfy { !($0.matrix.owner is Checkpoint) && $0.matrix.format == .int8 })
    }

    @Test("quantize writes a checkpoint that loads without re-quantizing and gives the same logits", arguments: [WeightFormat.int8, .f16, .bf16])
    func quantizeRoundTrip(format: WeightFormat) throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-quantized-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let model = try OPTModel(directory: Self.directory, format: format)
        try CheckpointExport.write(model, companionsFrom: Self.directory, to: out)
        let reloaded = try OPTModel(directory: out)
        #expect(reloaded.weights.namedMatrices.allSatisfy { $0.matrix.format == format && $0.matrix.owner is Checkpoint })
        let name = Self.directory.lastPathComponent
        #expect(try batchLogits(model, batchOf: name).logits == batchLogits(reloaded, batchOf: name).logits)
        let config = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("optiml_int8") == (format == .int8))
    }

    @Test("init-random writes a loadable checkpoint at the configured shape")
    func randomCheckpoint() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-random-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        var config = OPTConfig(vocabSize: 300, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, ffnDim: 32, maxPositionEmbeddings: 40)
        config.enableBias = false
        try RandomCheckpoint.write(config: config, dtype: .f16, seed: 1, to: out)
        let generator = try Generator(directory: out)
        #expect(generator.model.config == { var c = config; c.torchDtype = "float16"; return c }())
        #expect(generator.model.weights.embedTokens.format == .f16)
        var p = GenerationParameters()
        p.maxNewTokens = 5
        p.stopAtEOS = false
        #expect(try generator.generate(prompt: "héllo", parameters: p).outputIDs.count == 5)
        #expect(generator.tokenizer.encode("héllo") == [2] + Array("héllo".utf8).map { Int($0) + 4 })
    }
}
