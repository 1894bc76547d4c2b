import CKernels
import Foundation
import OPTCheckpoint
import OPTKernels
import OPTModel
import Testing

/// Conversion at load goes a block of rows at a time, releasing the source as it goes.
struct WeightConversionTests {
    /// 3,000 × 512: blocks of 2,048 rows, so two blocks, the second partial.
    static let rows = 3000, cols = 512
    static let values: [Float] = (0..<(rows * cols)).map { Float(($0 * 7919) % 2003 - 1001) / 997 }

    @Test("blocks of rows give the bytes of one whole-matrix conversion", arguments: [WeightFormat.f16, .bf16, .int8, .int4])
    func blocksMatchWholeConversion(format: WeightFormat) {
        let (rows, cols) = (Self.rows, Self.cols)
        var blocks = [Range<Int>]()
        let matrix = Self.values.withUnsafeBufferPointer {
            WeightConversion.matrix($0, rows: rows, cols: cols, format: format) { blocks.append($0) }
        }
        #expect(blocks.count == 2 && blocks.first?.lowerBound == 0 && blocks.last?.upperBound == rows)
        #expect(zip(blocks, blocks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        let count = rows * cols
        let converted = Array(UnsafeRawBufferPointer(start: matrix.data, count: matrix.byteCount))
        var whole = [UInt8](repeating: 0, count: matrix.byteCount)
        switch format {
        case .f16, .bf16:
            var halves = [UInt16](repeating: 0, count: count)
            if format == .f16 { ck_f32_to_f16(Self.values, &halves, count) } else { ck_f32_to_bf16(Self.values, &halves, count) }
            whole = halves.withUnsafeBytes { Array($0) }
        case .int8:
            var scales = [Float](repeating: 0, count: rows)
            whole.withUnsafeMutableBytes { ck_quantize_rows_q8(Self.values, $0.bindMemory(to: Int8.self).baseAddress, &scales, rows, cols) }
            #expect(Array(UnsafeBufferPointer(start: matrix.scales, count: rows)) == scales)
        case .int4:
            var scales = [UInt16](repeating: 0, count: matrix.groupScaleCount)
            ck_quantize_rows_q4(Self.values, &whole, &scales, rows, cols)
            #expect(Array(UnsafeBufferPointer(start: matrix.groupScales, count: scales.count)) == scales)
        case .f32:
            break
        }
        #expect(converted == whole)
    }

    /// int4's rows are split across the pool; each row quantizes alone, so the thread count changes nothing.
    @Test("int4 quantizes to the same bytes on 1, 2 and 3 threads")
    func int4IndependentOfThreads() {
        let bytes = [1, 2, 3].map { threads in
            let matrix = WeightConversion.matrix(Self.values, rows: Self.rows, cols: Self.cols, format: .int4,
                                                 pool: ComputePool(threads: threads))
            return Array(UnsafeRawBufferPointer(start: matrix.data, count: matrix.byteCount))
                + Array(UnsafeRawBufferPointer(start: matrix.groupScales, count: matrix.groupScaleCount * 2))
        }
        #expect(bytes[0] == bytes[1] && bytes[1] == bytes[2])
    }

    @Test("a tensor's released pages read back the same from the file")
    func releasedPagesStayReadable() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("model.safetensors")
        try Self.values.withUnsafeBytes { bytes in
            try SafeTensorsWriter.write([("w", .f32, [Self.rows, Self.cols], Array(bytes))], to: file)
        }
        let checkpoint = try Checkpoint(directory: directory)
        let before = try checkpoint.floats("w")
        try checkpoint.releasePages(of: "w", bytes: 4096 ..< 400_000)
        try checkpoint.releasePages(of: "w")
        #expect(try checkpoint.floats("w") == before)
        #expect(before == Self.values)
    }
}
