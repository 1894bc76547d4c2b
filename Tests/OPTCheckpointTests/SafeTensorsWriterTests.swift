import Foundation
import Testing
@testable import OPTCheckpoint

/// SafeTensorsWriter output reads back unchanged and satisfies the format's layout rules.
struct SafeTensorsWriterTests {
    private let tensors: [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])] = [
        ("bytes", .u8, [3], [1, 2, 250]),
        ("half", .f16, [2], [0x00, 0x3C, 0x00, 0xC0]), // 1, -2
        ("weight \"quoted\"\n", .f32, [2, 2], floatBytes([1, -2, 3.5, .infinity])),
        ("brain", .bf16, [1], [0x80, 0x3F]), // 1.0
        ("ids", .i64, [2], [7, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        ("scalar", .f32, [], floatBytes([0.5])),
        ("empty", .f32, [0, 4], []),
    ]

    @Test func roundTrip() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try SafeTensorsWriter.write(tensors, metadata: ["format": "pt", "note": "ü\\\"x"], to: url)
            let checkpoint = try Checkpoint(directory: directory)
            #expect(checkpoint.metadata == ["format": "pt", "note": "ü\\\"x"])
            #expect(checkpoint.tensorNames == tensors.map(\.name).sorted())
            for tensor in tensors {
                #expect(checkpoint.info(tensor.name) == TensorInfo(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape))
                #expect(try checkpoint.withRawBytes(tensor.name) { Array($0) } == tensor.bytes)
            }
            #expect(try checkpoint.floats("weight \"quoted\"\n") == [1, -2, 3.5, .infinity])
            #expect(try checkpoint.floats("half") == [1, -2])
            #expect(try checkpoint.floats("brain") == [1])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
        }
    }

    @Test func dataIsAligned() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try SafeTensorsWriter.write(tensors, metadata: [:], to: url)
            let bytes = try [UInt8](Data(contentsOf: url))
            let headerLength = bytes.withUnsafeBytes { $0.readLittleEndian(UInt64.self, at: 0) } ?? 0
            #expect((8 + headerLength) % 8 == 0)
            let checkpoint = try Checkpoint(directory: directory)
            for tensor in tensors where !tensor.bytes.isEmpty {
                let address = try checkpoint.withRawBytes(tensor.name) { Int(bitPattern: $0.baseAddress) }
                #expect(address % tensor.dtype.size == 0, "\(tensor.name) is misaligned")
            }
        }
    }

    @Test func replacesAnExistingFile() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try SafeTensorsWriter.write([("a", .f32, [1], floatBytes([1]))], metadata: [:], to: url)
            try SafeTensorsWriter.write([("b", .f32, [1], floatBytes([2]))], metadata: [:], to: url)
            #expect(try Checkpoint(directory: directory).tensorNames == ["b"])
        }
    }

    @Test func refusesInconsistentTensors() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            let bad: [[(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])]] = [
                [("a", .f32, [2], floatBytes([1]))],
                [("a", .f32, [1], floatBytes([1])), ("a", .f32, [1], floatBytes([2]))],
                [("__metadata__", .f32, [1], floatBytes([1]))],
                [("a", .f32, [-1], [])],
            ]
            for tensors in bad {
                expectCheckpointError(mentioning: url.path) {
                    try SafeTensorsWriter.write(tensors, metadata: [:], to: url)
                } matching: {
                    if case .invalidTensorForWriting(_, "a", _) = $0 { true } else if case .invalidTensorForWriting(_, "__metadata__", _) = $0 { true } else { false }
                }
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(leftovers.isEmpty)
        }
    }

    @Test func unwritableDestination() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("missing/model.safetensors")
            expectCheckpointError(mentioning: directory.path) {
                try SafeTensorsWriter.write([("a", .f32, [1], floatBytes([1]))], metadata: [:], to: url)
            } matching: {
                if case .fileAccess = $0 { true } else { false }
            }
        }
    }
}

/// Float16/bfloat16 widening is exact on every bit pattern.
struct FloatConversionTests {
    #if !(os(macOS) && arch(x86_64))
    @Test func halfMatchesFloat16Exhaustively() {
        for bits in UInt16.min ... UInt16.max {
            let ours = FloatConversion.halfToFloat(bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                // Payload and sign survive; only Float16's quieting of signalling NaNs differs, as in torch.
                #expect(ours.isNaN && ours.sign == reference.sign && ours.bitPattern & 0x3F_FFFF == reference.bitPattern & 0x3F_FFFF)
            } else {
                #expect(ours.bitPattern == reference.bitPattern, "half 0x\(String(bits, radix: 16))")
            }
        }
    }
    #endif

    @Test func bulkConversionOfEveryDType() {
        let halves: [UInt16] = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00]
        let expectedHalves: [Float] = [0, -0.0, 5.9604645e-08, 6.097555e-05, 6.1035156e-05, 1, 65504, .infinity, -.infinity]
        let converted = convert(halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }, .f16, count: halves.count)
        #expect(Array(converted.prefix(9)).map(\.bitPattern) == expectedHalves.map(\.bitPattern))
        #expect(converted[9].isNaN)

        let brains: [UInt16] = [0x0001, 0x7F80, 0x3F80, 0xFFC1]
        let widened = convert(brains.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }, .bf16, count: brains.count)
        #expect(widened.map(\.bitPattern) == [0x0001_0000, 0x7F80_0000, 0x3F80_0000, 0xFFC1_0000])

        var doubles: [UInt8] = []
        for value in [1.5, -1e300, 1e-300] { doubles.appendLittleEndian(value.bitPattern) }
        #expect(convert(doubles, .f64, count: 3) == [1.5, -.infinity, 0])
    }

    private func convert(_ bytes: [UInt8], _ dtype: TensorDType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { FloatConversion.convert($0, dtype: dtype, into: buffer) }
            initialized = count
        }
    }
}

/// Tensors given as pointers or producers are written exactly as the same bytes given as arrays.
struct SafeTensorsWriterStreamingTests {
    @Test func streamedMatchesArrays() throws {
        // Larger than a piece, and not a whole number of pieces, so that the pieces' seams are crossed.
        let large = (0..<(SafeTensorsWriter.pieceBytes / 4 + 12_345)).map { Float($0 % 1000) - 0.5 }
        let small: [UInt16] = [1, 2, 3]
        let largeBytes = large.withUnsafeBytes { Array($0) }, smallBytes = small.withUnsafeBytes { Array($0) }
        try withTemporaryDirectory { directory in
            let arrays = directory.appendingPathComponent("arrays.safetensors")
            try SafeTensorsWriter.write([("large", .f32, [large.count], largeBytes), ("small", .f16, [3], smallBytes),
                                         ("made", .f32, [large.count], largeBytes)], metadata: ["format": "pt"], to: arrays)
            let streamed = directory.appendingPathComponent("streamed.safetensors")
            var produced = 0
            try large.withUnsafeBytes { largePointer in
                try small.withUnsafeBytes { smallPointer in
                    try SafeTensorsWriter.write([
                        .init(name: "large", dtype: .f32, shape: [large.count], pointer: largePointer.baseAddress!),
                        .init(name: "small", dtype: .f16, shape: [3], pointer: smallPointer.baseAddress!),
                        .init(name: "made", dtype: .f32, shape: [large.count]) { piece in
                            piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: largePointer[produced..<(produced + piece.count)]))
                            produced += piece.count
                        },
                    ], metadata: ["format": "pt"], to: streamed)
                }
            }
            #expect(produced == largeBytes.count)
            #expect(try Data(contentsOf: streamed) == Data(contentsOf: arrays))
        }
    }
}
