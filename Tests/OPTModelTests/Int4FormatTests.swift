import Foundation
import OPTCheckpoint
import OPTKernels
import OPTModel
import Testing

/// int4 weights on the parity fixtures, the checkpoints that store them, and the loader's refusals.
/// An extension of the serialized "Weight formats" suite, whose tests switch the process-wide GEMM paths.
extension WeightFormatTests {
    /// The fixtures whose matrices all have a multiple of 32 columns (tiny-postln-bin-sharded projects to 16).
    static let int4Models = Fixtures.modelNames.filter { $0 != "tiny-postln-bin-sharded" }

    /// Gates on the fixtures. These models have random weights, 32 hidden units and a vocabulary of 1008: their
    /// logits are nearly flat (top-1 often decided by less than an int4 step), and at 32 columns a group is a
    /// whole row, int4's worst case. So top-1 agreement says little here, and the gates (int8 and bf16
    /// top-1 ≥ 99% and cosine ≥ 0.995, int4 top-1 ≥ 97%) are measured on real text by `optiml accuracy`; the
    /// int8 and bf16 tests above hold cosine ≥ 0.995 on these fixtures. int4's own quantization error is held
    /// to cosine ≥ 0.9 (measured 0.917–0.959), and the kernels' error beyond it is tested next, tightly.
    @Test("int4 keeps cosine ≥ 0.9 with f32 logits on the parity fixtures", arguments: int4Models)
    func int4Accuracy(name: String) throws {
        let directory = Fixtures.models.appendingPathComponent(name)
        let reference = try batchLogits(directory, format: .f32)
        let quantized = try batchLogits(directory, format: .int4)
        let (cosine, _) = agreement(reference.logits, quantized.logits, vocab: reference.vocab)
        #expect(cosine >= 0.9, "cosine \(cosine)")
    }

    /// int4 computed by our paths against f32 computed on the very weights int4 stands for (its checkpoint
    /// loaded as f32). On AVX2 the int4 kernels quantize their inputs to int8, in decode per block of 32 and in
    /// prefill (the tiles) per block of 256 (cosine ≥ 0.999); elsewhere prefill converts int4 tiles to those f32
    /// values exactly for BLAS, so only the summation order differs (1e-4), and decode is exact in f32 too.
    @Test("int4 logits are those of its dequantized weights, in prefill and decode")
    func int4MatchesDequantizedWeights() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-int4-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let int4 = try OPTModel(directory: Self.directory, format: .int4)
        try CheckpointExport.write(int4, companionsFrom: Self.directory, to: out)
        let dequantized = try OPTModel(directory: out, format: .f32)
        for oneAtATime in [false, true] {
            let ours = try promptLogits(int4, oneAtATime: oneAtATime), reference = try promptLogits(dequantized, oneAtATime: oneAtATime)
            let (cosine, _) = agreement(reference, ours, vocab: int4.config.vocabSize)
            #expect(cosine >= 0.999, "cosine \(cosine), one token at a time: \(oneAtATime)")
            if KernelPath.decode != "avx2" {
                #expect((zip(ours, reference).map { abs($0 - $1) }.max() ?? .infinity) <= 1e-4)
            }
        }
    }

    /// More inputs than one call of an int4 kernel that unpacks the weights takes (AVX-512 VNNI's, AVX2's tiles:
    /// `int4GEMMInputBlock`) are cut into calls of even sizes; every input's products are then its products in a
    /// call of 16 inputs (the smallest those kernels take, so its inputs are quantized alike), within f32 rounding.
    /// Elsewhere the same holds through f32 tiles.
    @Test("int4 products of 1,100 inputs at once: every input's own products")
    func int4ManyInputs() throws {
        let rows = 40, cols = 96, count = 1_100
        var state: UInt64 = 3
        let weights = (0..<(rows * cols)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        let x = (0..<(count * cols)).map { Float(($0 * 7919) % 2001 - 1000) / 1000 }
        let matrix = WeightConversion.matrix(weights, rows: rows, cols: cols, format: .int4)
        let pool = ComputePool(threads: 2)
        let scratch = AlignedBuffer(byteCount: pool.threads * WeightMatrix.tileRows * cols * 4)
        let quantized = AlignedBuffer(byteCount: WeightMatrix.quantizedBytes(count: count, cols: cols))
        let few = 16
        var all = [Float](repeating: .nan, count: count * rows), some = [Float](repeating: .nan, count: few * rows)
        x.withUnsafeBufferPointer { input in
            all.withUnsafeMutableBufferPointer { y in
                matrix.multiply(input.baseAddress!, count: count, into: y.baseAddress!, pool: pool,
                                scratch: scratch.pointer.assumingMemoryBound(to: Float.self), quantized: quantized.pointer)
            }
            for i in stride(from: 0, to: count - few, by: 109) {
                some.withUnsafeMutableBufferPointer { y in
                    matrix.multiply(input.baseAddress! + i * cols, count: few, into: y.baseAddress!, pool: pool,
                                    scratch: scratch.pointer.assumingMemoryBound(to: Float.self), quantized: quantized.pointer)
                }
                let one = some[0..<rows], largest = one.map(abs).max() ?? 0
                let gap = zip(all[(i * rows)..<((i + 1) * rows)], one).map { abs($0 - $1) }.max() ?? .infinity
                #expect(gap <= 1e-4 * max(largest, 1), "input \(i): products differ by \(gap)")
            }
        }
        #expect(!all.contains { $0.isNaN }, "every input's products written")
    }

    /// Logits of every position of one 48-token prompt: in one forward (past the matrix-vector limit, so
    /// prefill takes a GEMM) or fed one token at a time (the decode kernels).
    func promptLogits(_ model: OPTModel, oneAtATime: Bool) throws -> [Float] {
        let vocab = model.config.vocabSize, count = 48
        #expect(count > WeightMatrix.matvecLimit)
        let ids = (0..<count).map { 4 + ($0 * 37) % (vocab - 4) }
        let cache = KVCache(config: model.config, capacity: count), workspace = SequenceWorkspace()
        return try (oneAtATime ? ids.map { [$0] } : [ids]).flatMap { tokens in
            try model.forward(sequences: [.init(tokens: tokens, cache: cache, logits: .all)], workspace: workspace) { Array($0[0]) }
        }
    }

    @Test("quantize --dtype int4 writes a checkpoint that loads in place and gives the logits of quantizing at load")
    func int4CheckpointRoundTrip() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-int4-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let model = try OPTModel(directory: Self.directory, format: .int4)
        try CheckpointExport.write(model, companionsFrom: Self.directory, to: out)
        let reloaded = try OPTModel(directory: out)
        // The token embedding (the tied lm_head) and the first layer in int8, the rest in int4: all in place in the map.
        let layout = reloaded.weights.layout, embedding = layout.embedTokens.name
        let sensitive = Set([embedding] + [layout.layers[0].q, layout.layers[0].k, layout.layers[0].v, layout.layers[0].out,
                                           layout.layers[0].fc1, layout.layers[0].fc2].map(\.weight.name))
        #expect(reloaded.weights.namedMatrices.allSatisfy {
            $0.matrix.format == (sensitive.contains($0.slot.name) ? .int8 : .int4) && $0.matrix.owner is Checkpoint
        })
        #expect(reloaded.weights.namedMatrices.contains { $0.matrix.format == .int4 })
        let name = Self.directory.lastPathComponent
        #expect(try batchLogits(model, batchOf: name).logits == batchLogits(reloaded, batchOf: name).logits)
        let checkpoint = try Checkpoint(directory: out)
        #expect(checkpoint.metadata["optiml_weight_format"] == "int4")
        #expect(checkpoint.metadata["optiml_int4_group_size"] == "32")
        let q = try #require(checkpoint.info("model.decoder.layers.1.fc1.weight"))
        #expect(q.dtype == .u8 && q.shape == [64, 16])
        let scales = try #require(checkpoint.info("model.decoder.layers.1.fc1.weight_group_scale"))
        #expect(scales.dtype == .f16 && scales.shape == [64, 1])
        #expect(try #require(checkpoint.info(embedding)).dtype == .i8 && checkpoint.info(embedding + "_scale")?.dtype == .f32)
        let config = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("optiml_int4"))
        // In memory: every stored tensor's bytes, plus the row sums our VNNI GEMM keeps beside int8 matrices.
        let stored = try checkpoint.tensorNames.map { try checkpoint.withRawBytes($0) { $0.count } }.reduce(0, +)
        let rowSums = reloaded.weights.namedMatrices.map(\.matrix)
            .filter { $0.format == .int8 && KernelPath.units.int8 }
            .map { $0.rows * MemoryLayout<Int32>.stride }.reduce(0, +)
        #expect(reloaded.weights.residentBytes == stored + rowSums)
    }

    /// `--head-dtype int4`: the tied head held apart in int4, quantized from the stored f32 embedding (not from the
    /// int8 one the lookups use), saved as `lm_head.weight` of an untied checkpoint that reloads in place, as it ran.
    @Test("an int4 head held apart from the tied int8 embedding: quantized from f32, used for the logits, saved and reloaded as it ran")
    func int4HeadHeldApart() throws {
        let model = try OPTModel(directory: Self.directory, format: .int4, headFormat: .int4)
        let weights = model.weights
        #expect(weights.embedTokens.format == .int8 && weights.lmHead.format == .int4)
        #expect(!weights.tiedHead && !weights.layout.tiedHead && !model.config.tieWordEmbeddings)
        #expect(weights.namedMatrices.filter { $0.slot == weights.layout.lmHead }.count == 1)
        let f32 = try OPTModel(directory: Self.directory, format: .f32).weights.embedTokens
        let direct = f32.data.withMemoryRebound(to: Float.self, capacity: f32.rows * f32.cols) {
            WeightConversion.matrix(Array(UnsafeBufferPointer(start: $0, count: f32.rows * f32.cols)), rows: f32.rows,
                                    cols: f32.cols, format: .int4)
        }
        let head = weights.lmHead, groups = head.rows * head.cols / WeightFormat.int4GroupSize
        #expect(memcmp(head.data, direct.data, head.rows * head.cols / 2) == 0)
        #expect(memcmp(try #require(head.groupScales), try #require(direct.groupScales), groups * 2) == 0)
        // The logits come from the int4 head: they are not those of int4 with its int8 head.
        let plain = try OPTModel(directory: Self.directory, format: .int4)
        #expect(plain.weights.lmHead.format == .int8 && plain.weights.tiedHead)
        #expect(try promptLogits(plain, oneAtATime: false) != promptLogits(model, oneAtATime: false))

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-int4-head-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try CheckpointExport.write(model, companionsFrom: Self.directory, to: out)
        let checkpoint = try Checkpoint(directory: out)
        #expect(try #require(checkpoint.info("lm_head.weight")).dtype == .u8)
        #expect(try #require(checkpoint.info(weights.layout.embedTokens.name)).dtype == .i8)
        let reloaded = try OPTModel(directory: out)
        #expect(reloaded.weights.lmHead.format == .int4 && reloaded.weights.lmHead.owner is Checkpoint)
        #expect(!reloaded.config.tieWordEmbeddings)
        for oneAtATime in [false, true] {
            #expect(try promptLogits(model, oneAtATime: oneAtATime) == promptLogits(reloaded, oneAtATime: oneAtATime))
        }
        // Its f32 reading is the dequantized head: the logits are those of the head's int4 values.
        let dequantized = try OPTModel(directory: out, format: .f32)
        let (cosine, _) = agreement(try promptLogits(dequantized, oneAtATime: true), try promptLogits(model, oneAtATime: true),
                                    vocab: model.config.vocabSize)
        #expect(cosine >= 0.999, "cosine \(cosine)")
    }

    @Test("int4 refuses a matrix whose columns are not a multiple of 32, naming it")
    func int4RefusesNarrowColumns() throws {
        // The token embedding (16 wide here) is int8 in an int4 model; the first int4 matrix too narrow is project_in.
        let directory = Fixtures.models.appendingPathComponent("tiny-postln-bin-sharded")
        #expect {
            try OPTModel(directory: directory, format: .int4)
        } throws: { error in
            guard case ModelError.invalidTensor(let name, let reason, _)? = error as? ModelError else { return false }
            return name.hasSuffix("project_in.weight") && reason.contains("16 columns")
        }
    }

    /// An int4 checkpoint of the fixture with `edit` applied to its tensors and metadata.
    func editedInt4Checkpoint(
        _ edit: (inout [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])], inout [String: String]) -> Void
    ) throws -> URL {
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-int4-src-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: source) }
        try CheckpointExport.write(OPTModel(directory: Self.directory, format: .int4), companionsFrom: Self.directory, to: source)
        let checkpoint = try Checkpoint(directory: source)
        var tensors: [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])] = try checkpoint.tensorNames.map { name in
            let info = try #require(checkpoint.info(name))
            return (name, info.dtype, info.shape, try checkpoint.withRawBytes(name) { Array($0) })
        }
        var metadata = checkpoint.metadata
        edit(&tensors, &metadata)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-int4-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try CheckpointExport.copyCompanionFiles(["config.json"] + CheckpointExport.companionFiles, from: source, to: out)
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: out.appendingPathComponent("model.safetensors"))
        return out
    }

    /// Loading `directory` throws a ModelError for which `matches` holds.
    func expectLoadFails(_ directory: URL, _ matches: @escaping (ModelError) -> Bool) {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect {
            try OPTModel(directory: directory)
        } throws: { error in
            (error as? ModelError).map(matches) ?? false
        }
    }

    @Test("malformed int4 tensors are typed errors naming the tensor")
    func int4MalformedTensors() throws {
        let fc1 = "model.decoder.layers.1.fc1.weight"  // an int4 matrix (the first layer is int8)
        expectLoadFails(try editedInt4Checkpoint { tensors, _ in tensors.removeAll { $0.name == fc1 + "_group_scale" } }) {
            if case .missingTensor(let name, _) = $0 { return name == fc1 + "_group_scale" }
            return false
        }
        expectLoadFails(try editedInt4Checkpoint { tensors, _ in
            let i = tensors.firstIndex { $0.name == fc1 + "_group_scale" }!
            tensors[i].shape = [32, 2]
        }) {
            if case .wrongShape(let name, let expected, _, _) = $0 { return name == fc1 + "_group_scale" && expected == [64, 1] }
            return false
        }
        expectLoadFails(try editedInt4Checkpoint { tensors, _ in
            let i = tensors.firstIndex { $0.name == fc1 + "_group_scale" }!
            tensors[i] = (tensors[i].name, .f32, [64, 1], [UInt8](repeating: 0, count: 64 * 4))
        }) {
            if case .invalidTensor(let name, _, _) = $0 { return name == fc1 + "_group_scale" }
            return false
        }
        expectLoadFails(try editedInt4Checkpoint { tensors, _ in
            let i = tensors.firstIndex { $0.name == fc1 }!
            tensors[i] = (fc1, .u8, [64, 8], Array(tensors[i].bytes.prefix(64 * 8)))
        }) {
            if case .wrongShape(let name, let expected, _, _) = $0 { return name == fc1 && expected == [64, 16] }
            return false
        }
        expectLoadFails(try editedInt4Checkpoint { _, metadata in metadata["optiml_int4_group_size"] = "64" }) {
            if case .invalidTensor(_, let reason, _) = $0 { return reason.contains("groups of 64") }
            return false
        }
        // A scale that is not finite would turn every product through it into NaN (or garbage where a kernel drops
        // NaN): refused at load, with where it is. f16 NaN in fc1's group scales (row 5), an f32 infinity in the int8
        // first layer's per-row scales (row 3).
        expectLoadFails(try editedInt4Checkpoint { tensors, _ in
            let i = tensors.firstIndex { $0.name == fc1 + "_group_scale" }!
            tensors[i].bytes[10] = 0x00
            tensors[i].bytes[11] = 0x7E
        }) {
            if case .invalidTensor(let name, let reason, _) = $0 { return name == fc1 + "_group_scale" && reason.contains("row 5, group 0") }
            return false
        }
        let fc1Int8 = "model.decoder.layers.0.fc1.weight"
        expectLoadFails(try editedInt4Checkpoint { tensors, _ in
            let i = tensors.firstIndex { $0.name == fc1Int8 + "_scale" }!
            tensors[i].bytes.replaceSubrange(12..<16, with: withUnsafeBytes(of: Float.infinity) { Array($0) })
        }) {
            if case .invalidTensor(let name, let reason, _) = $0 { return name == fc1Int8 + "_scale" && reason.contains("inf for row 3") }
            return false
        }
    }
}
