import Foundation
import Testing
@testable import OPTCheckpoint

/// Checkpoints written by torch and safetensors read back exactly as Python saw them.
struct FixtureTests {
    static let readableFixtures = [
        "torch_single", "torch_protocol5", "torch_zip64", "torch_sharded",
        "safetensors_single", "safetensors_sharded", "prefer_safetensors",
    ]

    @Test(arguments: readableFixtures)
    func valuesMatchPython(fixture: String) throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory(fixture))
        let expected = try #require(Fixtures.expected[fixture])
        #expect(checkpoint.tensorNames == expected.keys.sorted())
        for (name, want) in expected {
            let info = try #require(checkpoint.info(name))
            #expect(info.dtype.rawValue == want.dtype, "\(fixture) \(name)")
            #expect(info.shape == want.shape, "\(fixture) \(name)")
            if let bits = want.f32Bits {
                let values = try checkpoint.floats(name)
                #expect(values.count == bits.count, "\(fixture) \(name)")
                for (value, expectedBits) in zip(values, bits) {
                    let expected = Float(bitPattern: expectedBits)
                    if expected.isNaN {
                        #expect(value.isNaN, "\(fixture) \(name)")
                    } else {
                        #expect(value.bitPattern == expectedBits, "\(fixture) \(name): \(value) != \(expected)")
                    }
                }
            } else if let ints = want.ints {
                #expect(try integers(checkpoint, name) == ints, "\(fixture) \(name)")
                expectCheckpointError(mentioning: checkpoint.weightFiles[0].deletingLastPathComponent().path) {
                    _ = try checkpoint.floats(name)
                } matching: {
                    if case .unsupportedConversion(_, name, info.dtype) = $0 { true } else { false }
                }
            }
        }
    }

    /// Integer tensors read through the raw bytes, widened for comparison.
    private func integers(_ checkpoint: Checkpoint, _ name: String) throws -> [Int64] {
        let dtype = try #require(checkpoint.info(name)).dtype
        return try checkpoint.withRawBytes(name) { raw in
            (0 ..< raw.count / dtype.size).map { index in
                let offset = index * dtype.size
                switch dtype {
                case .i64: return raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)
                case .u16: return Int64(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                case .u8, .bool: return Int64(raw[offset])
                default: return Int64.min
                }
            }
        }
    }

    @Test func formatsAndMetadata() throws {
        let torch = try Checkpoint(directory: Fixtures.directory("torch_single"))
        #expect(torch.format == .pytorch)
        #expect(torch.metadata.isEmpty)
        let safetensors = try Checkpoint(directory: Fixtures.directory("safetensors_single"))
        #expect(safetensors.format == .safetensors)
        #expect(safetensors.metadata == ["format": "pt"])
        let sharded = try Checkpoint(directory: Fixtures.directory("safetensors_sharded"))
        #expect(sharded.weightFiles.map(\.lastPathComponent) == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
    }

    @Test func safetensorsPreferredOverBin() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("prefer_safetensors"))
        #expect(checkpoint.format == .safetensors)
        #expect(try checkpoint.floats("which") == [1])
    }

    @Test func tiedWeightsShareOneStorage() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("torch_single"))
        let embedding = try checkpoint.withRawBytes("embed_tokens.weight") { $0.baseAddress }
        let head = try checkpoint.withRawBytes("lm_head.weight") { $0.baseAddress }
        #expect(embedding != nil && embedding == head)
        #expect(try checkpoint.floats("embed_tokens.weight") == checkpoint.floats("lm_head.weight"))
    }

    @Test func contiguousTensorsAreNotCopied() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("torch_single"))
        // row_slice is base[1]: the same storage as transposed, four floats further in.
        let slice = try checkpoint.withRawBytes("row_slice") { $0.baseAddress }
        let base = try checkpoint.withRawBytes("embed_tokens.weight") { $0.baseAddress }
        #expect(slice != nil && base != nil && slice != base)
        #expect(try checkpoint.floats("row_slice") == [1, 1.25, 1.5, 1.75])
    }

    @Test func stridedViewsAreMaterialisedRowMajor() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("torch_single"))
        // base = arange(12).reshape(3, 4) / 4; transposed = base.t(); column_slice = base[:, 2].
        #expect(checkpoint.info("transposed")?.shape == [4, 3])
        #expect(try checkpoint.floats("transposed") == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map { Float($0) / 4 })
        #expect(try checkpoint.floats("column_slice") == [0.5, 1.5, 2.5])
        let raw = try checkpoint.withRawBytes("transposed") { Array($0) }
        #expect(raw.count == 12 * 4)
    }

    @Test func emptyAndScalarTensors() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("torch_single"))
        #expect(try checkpoint.floats("empty").isEmpty)
        #expect(checkpoint.info("scalar")?.shape == [])
        #expect(try checkpoint.floats("scalar") == [7.25])
    }

    @Test func forbiddenGlobalIsRefused() {
        let file = Fixtures.directory("forbidden_global").appendingPathComponent("pytorch_model.bin")
        expectCheckpointError(mentioning: file.path) {
            _ = try Checkpoint(directory: file.deletingLastPathComponent())
        } matching: {
            if case .forbiddenGlobal(_, "posix", "system") = $0 { true } else { false }
        }
    }

    @Test func legacyTorchFormatIsExplained() {
        let file = Fixtures.directory("legacy_torch").appendingPathComponent("pytorch_model.bin")
        expectCheckpointError(mentioning: file.path) {
            _ = try Checkpoint(directory: file.deletingLastPathComponent())
        } matching: {
            if case .legacyTorchFormat = $0 { true } else { false }
        }
    }

    @Test func unknownTensorName() throws {
        let directory = Fixtures.directory("safetensors_single")
        let checkpoint = try Checkpoint(directory: directory)
        #expect(checkpoint.info("nope") == nil)
        expectCheckpointError(mentioning: directory.path) {
            _ = try checkpoint.floats("nope")
        } matching: {
            if case .tensorNotFound("nope", _) = $0 { true } else { false }
        }
    }

    @Test func directoryWithoutWeights() throws {
        try withTemporaryDirectory { directory in
            expectCheckpointError(mentioning: directory.path) {
                _ = try Checkpoint(directory: directory)
            } matching: {
                if case .noWeightFiles = $0 { true } else { false }
            }
        }
    }
}
