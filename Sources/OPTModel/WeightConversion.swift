import CKernels
import OPTKernels

/// Float32 values turned into a `WeightMatrix` of another storage format.
public enum WeightConversion {
    /// `values` (`rows × cols`, row-major) stored as `format`, the way checkpoints are converted at load.
    /// int4 needs `cols` to be a multiple of `WeightFormat.int4GroupSize` (callers check it and throw).
    public static func matrix(_ values: [Float], rows: Int, cols: Int, format: WeightFormat,
                              pool: ComputePool = ComputePool(), gptqFactor: [Float]? = nil) -> WeightMatrix {
        values.withUnsafeBufferPointer { matrix($0, rows: rows, cols: cols, format: format, pool: pool, gptqFactor: gptqFactor) }
    }

    /// As `matrix(_:rows:cols:format:)`, from values in place (a checkpoint's memory map), a block of rows at a
    /// time (every format converts row by row): `converted` hears of each block once it is done, so that a
    /// caller can let go of its source while the rest converts. int4's scale search, about 30 times the
    /// work of the other conversions, splits each block's rows across `pool` (rows quantize independently, so
    /// the result does not depend on the thread count).
    ///
    /// int4 with `gptqFactor` (`CalibrationStatistics.inverseFactor`, `cols × cols`) rounds by GPTQ, which spreads
    /// each column's rounding error over the columns after it (`gptqInt4`), the whole matrix at once (but for a
    /// matrix with an infinite weight, whose errors would not be finite).
    public static func matrix(
        _ values: UnsafeBufferPointer<Float>, rows: Int, cols: Int, format: WeightFormat, pool: ComputePool = ComputePool(),
        gptqFactor: [Float]? = nil, converted: (_ rows: Range<Int>) -> Void = { _ in }
    ) -> WeightMatrix {
        precondition(gptqFactor.map { $0.count == cols * cols } ?? true, "a GPTQ factor of \(cols) × \(cols) values")
        precondition(values.count == rows * cols, "\(values.count) values for a \(rows) × \(cols) matrix")
        precondition(format != .int4 || cols % WeightFormat.int4GroupSize == 0, "int4 columns must be a multiple of the group size")
        let count = rows * cols
        let scaleBytes = switch format {
        case .int8: rows * MemoryLayout<Float>.stride
        case .int4: rows * (cols / WeightFormat.int4GroupSize) * MemoryLayout<UInt16>.stride
        case .f32, .f16, .bf16: 0
        }
        // Scales first: they need 4- (int8) or 2-byte (int4) alignment, the quantized elements none.
        let storage = AlignedBuffer(byteCount: scaleBytes + count * format.bitsPerElement / 8)
        let data = storage.pointer + scaleBytes
        // About 4 MB of f32 source per block.
        let block = max(1, (1 << 20) / max(cols, 1))
        // An infinite weight's error is not finite: such a matrix is rounded to the nearest levels.
        if format == .int4, let gptqFactor, !values.contains(where: \.isInfinite) {
            gptqInt4(values, rows: rows, cols: cols, factor: gptqFactor, q: data.assumingMemoryBound(to: UInt8.self),
                     scales: storage.pointer.assumingMemoryBound(to: UInt16.self), pool: pool)
            converted(0..<rows)
        } else if let base = values.baseAddress {
            for first in stride(from: 0, to: rows, by: block) {
                let n = min(block, rows - first), elements = n * cols, src = base + first * cols
                switch format {
                case .f32: (data + first * cols * 4).copyMemory(from: src, byteCount: elements * 4)
                case .f16: ck_f32_to_f16(src, (data + first * cols * 2).assumingMemoryBound(to: UInt16.self), elements)
                case .bf16: ck_f32_to_bf16(src, (data + first * cols * 2).assumingMemoryBound(to: UInt16.self), elements)
                case .int8:
                    ck_quantize_rows_q8(src, (data + first * cols).assumingMemoryBound(to: Int8.self),
                                        storage.pointer.assumingMemoryBound(to: Float.self) + first, n, cols)
                case .int4:
                    let groups = cols / WeightFormat.int4GroupSize
                    let q = (data + first * cols / 2).assumingMemoryBound(to: UInt8.self)
                    let scales = storage.pointer.assumingMemoryBound(to: UInt16.self) + first * groups
                    // At least 8 groups a chunk, so that a pool's start-up is small beside the work.
                    pool.forEachChunk(n, minimumChunk: max(1, 8 / groups)) { _, part in
                        ck_quantize_rows_q4(src + part.lowerBound * cols, q + part.lowerBound * cols / 2,
                                            scales + part.lowerBound * groups, part.count, cols)
                    }
                }
                converted(first ..< first + n)
            }
        }
        let scales = format == .int8 ? UnsafePointer(storage.pointer.assumingMemoryBound(to: Float.self)) : nil
        let groupScales = format == .int4 ? UnsafePointer(storage.pointer.assumingMemoryBound(to: UInt16.self)) : nil
        return WeightMatrix(format: format, rows: rows, cols: cols, data: UnsafeRawPointer(data), scales: scales,
                            groupScales: groupScales, owner: storage)
    }

    /// Columns GPTQ rounds before it carries their errors into the columns after them in one product (its lazy batches).
    static let gptqBlock = 128

    /// int4 by GPTQ: a copy of the values (NaN as 0) rounded a block of columns at a time (`ck_gptq_q4_columns`, its
    /// rows split over `pool`), each block's errors then taken from the later columns by BLAS, as GPTQ's reference
    /// does.
    private static func gptqInt4(_ values: UnsafeBufferPointer<Float>, rows: Int, cols: Int, factor: [Float],
                                 q: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<UInt16>, pool: ComputePool) {
        let groups = cols / WeightFormat.int4GroupSize
        var w = values.map { $0.isNaN ? 0 : $0 }
        var errors = [Float](repeating: 0, count: rows * gptqBlock)
        w.withUnsafeMutableBufferPointer { w in
            errors.withUnsafeMutableBufferPointer { errors in
                let w = w.baseAddress!, errors = errors.baseAddress!
                factor.withUnsafeBufferPointer { factor in
                    let u = factor.baseAddress!
                    for begin in stride(from: 0, to: cols, by: gptqBlock) {
                        let end = min(cols, begin + gptqBlock), width = end - begin
                        pool.forEachChunk(rows, minimumChunk: 8) { _, part in
                            let first = part.lowerBound
                            ck_gptq_q4_columns(w + first * cols, cols, u, q + first * cols / 2, scales + first * groups,
                                               errors + first * width, part.count, begin, end)
                        }
                        guard end < cols else { break }
                        pool.withBLASThreads {
                            BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: cols - end, k: width, alpha: -1,
                                       a: errors, lda: width, b: u + begin * cols + end, ldb: cols, beta: 1, c: w + end, ldc: cols)
                        }
                    }
                }
            }
        }
    }
}
