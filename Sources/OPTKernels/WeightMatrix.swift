import CKernels

/// How a weight matrix is stored in memory; compute is always Float32.
public enum WeightFormat: String, Sendable, CaseIterable {
    case f32, f16, bf16
    /// Symmetric int8 with one Float32 scale per output row.
    case int8
    /// Symmetric 4-bit, two per byte, with one f16 scale per group of `int4GroupSize` columns of a row
    /// (layout: `ck_matmul_q4` in ckernels.h).
    case int4

    /// Bits per element (scales not counted).
    public var bitsPerElement: Int {
        switch self {
        case .f32: 32
        case .f16, .bf16: 16
        case .int8: 8
        case .int4: 4
        }
    }

    /// Columns per int4 scale; an int4 matrix's columns must be a multiple of it.
    public static let int4GroupSize = Int(CK_Q4_GROUP)

    /// The format of the matrices where quantization error costs most, the token embedding with the lm_head
    /// (every logit is a product with it) and the first decoder layer (its error passes through all the later
    /// ones), in a model whose other matrices are in this one. int4 keeps them in int8, as GPTQ and AWQ leave
    /// the head unquantized and llama.cpp's 4-bit mixes give the head and the first layers more bits. Nano on
    /// 4,096 positions of its own text (tools/int4_reference.py): top-1 93.7% all in int4, 95.4% with the
    /// embedding in int8, 98.3% with the first layer too; on opt-1.3b they are about a twelfth of the weights.
    public var sensitiveMatrixFormat: WeightFormat { self == .int4 ? .int8 : self }
}

/// A `[rows, cols]` row-major weight matrix (PyTorch `Linear` layout: out × in) in any `WeightFormat`.
///
/// The bytes may be a memory-mapped checkpoint or storage converted at load; `owner` keeps
/// whichever it is alive. Immutable, so it can be shared by every thread.
public struct WeightMatrix: @unchecked Sendable {
    public let format: WeightFormat
    public let rows: Int
    public let cols: Int
    /// Row-major elements, possibly unaligned beyond 4 bytes.
    public let data: UnsafeRawPointer
    /// int8 only: one scale per row.
    public let scales: UnsafePointer<Float>?
    /// int4 only: f16 scales, `cols / WeightFormat.int4GroupSize` per row, row-major.
    public let groupScales: UnsafePointer<UInt16>?
    /// Whatever owns `data` and `scales`.
    public let owner: AnyObject
    /// int8 only, where the processor has the VNNI GEMM: Σ of each row's int8 values, which that GEMM needs
    /// (computed here, owned by `rowSumsStorage`).
    let rowSums: UnsafePointer<Int32>?
    private let rowSumsStorage: AlignedBuffer?

    public init(format: WeightFormat, rows: Int, cols: Int, data: UnsafeRawPointer, scales: UnsafePointer<Float>?,
                groupScales: UnsafePointer<UInt16>? = nil, owner: AnyObject) {
        self.format = format
        self.rows = rows
        self.cols = cols
        self.data = data
        self.scales = scales
        self.groupScales = groupScales
        self.owner = owner
        // Kept even when tests switch the GEMM off, so that they can switch it back on for the same matrix.
        if format == .int8 && KernelPath.units.int8 {
            let storage = AlignedBuffer(byteCount: rows * MemoryLayout<Int32>.stride)
            let sums = storage.pointer.bindMemory(to: Int32.self, capacity: rows)
            let q = data.assumingMemoryBound(to: Int8.self)
            for r in 0..<rows {
                let row = q + r * cols
                var total: Int32 = 0
                // |Σ| ≤ 128 · cols cannot wrap, and wrapping adds let the loop vectorize.
                for c in 0..<cols { total &+= Int32(row[c]) }
                sums[r] = total
            }
            rowSums = UnsafePointer(sums)
            rowSumsStorage = storage
        } else {
            rowSums = nil
            rowSumsStorage = nil
        }
    }

    /// Bytes of the elements (scales not counted).
    public var byteCount: Int { rows * cols * format.bitsPerElement / 8 }

    /// Bytes the matrix holds in memory: its elements, their scales and the VNNI GEMM's row sums.
    public var residentBytes: Int {
        let perRow = (scales == nil ? 0 : MemoryLayout<Float>.stride) + (rowSums == nil ? 0 : MemoryLayout<Int32>.stride)
        return byteCount + rows * perRow + groupScaleCount * MemoryLayout<UInt16>.stride
    }

    /// Number of int4 group scales (`rows × cols / WeightFormat.int4GroupSize`); 0 for other formats.
    public var groupScaleCount: Int { format == .int4 ? rows * (cols / WeightFormat.int4GroupSize) : 0 }

    /// Batches up to this size multiply row by row (memory-bound, our kernels); larger ones go through
    /// a GEMM: oneDNN where it is installed (f32, and int8 and bf16 where their unit GEMMs are on), else BLAS
    /// for f32, our AVX-512 GEMMs for int8 (VNNI) and bf16 (AVX512-BF16) where the processor has them
    /// (`KernelPath`), else BLAS on weights converted to f32 a tile at a time.
    public static let matvecLimit = 16

    /// Bytes `multiply` needs in `quantized` for `count` inputs of `cols` values.
    public static func quantizedBytes(count: Int, cols: Int) -> Int { count * (2 * cols + 8) }

    /// y[m, r] = Σ_c x[m, c] · W[r, c] for `m` in 0..<count: `x` is `[count, cols]`, `y` is `[count, rows]`,
    /// then `epilogue` on every result.
    ///
    /// `scratch` must hold `pool.threads × tileRows × cols` floats: where each thread converts
    /// its tiles of non-f32 weights for GEMM. `quantized` must hold `quantizedBytes(count:cols:)`:
    /// where the int8 and bf16 GEMMs and AVX2's int4 tiles put their converted inputs.
    ///
    /// Each thread takes a share of the output rows (through oneDNN: of the inputs) and runs single-threaded
    /// kernels, BLAS or oneDNN on it, so neither library spins threads of its own beside the pool's.
    public func multiply(
        _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: UnsafeMutablePointer<Float>, quantized: UnsafeMutableRawPointer,
        epilogue: Epilogue = .none
    ) {
        let applied = product(x, count: count, into: y, pool: pool, scratch: scratch, quantized: quantized, epilogue: epilogue)
        guard !applied, !epilogue.isNone else { return }
        pool.forEachChunk(count, minimumChunk: Self.epilogueRows) { _, range in
            epilogue.apply(y + range.lowerBound * rows, count: range.count, width: rows)
        }
    }

    /// Inputs below which the epilogue after a product stays on one thread.
    private static let epilogueRows = 8

    /// `multiply`'s product; returns whether it applied the epilogue too (the int8 GEMM through oneDNN, while
    /// each block of results is in cache).
    private func product(
        _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>,
        pool: ComputePool, scratch: UnsafeMutablePointer<Float>, quantized: UnsafeMutableRawPointer, epilogue: Epilogue
    ) -> Bool {
        if let rowSums, let scales, Self.int8GEMMTakes(count: count) {
            // int8 × int8 GEMM: inputs quantized once per row, then each thread its share of the weight rows.
            // `quantized`: the inputs' scales, their zero points, then the inputs as bytes.
            let inputScales = quantized.bindMemory(to: Float.self, capacity: count)
            let inputZeros = (quantized + count * MemoryLayout<Float>.stride).bindMemory(to: Int32.self, capacity: count)
            let inputs = (quantized + count * (MemoryLayout<Float>.stride + MemoryLayout<Int32>.stride))
                .bindMemory(to: UInt8.self, capacity: count * cols)
            func quantize(_ share: Range<Int>) {
                let i = share.lowerBound
                ck_gemm_q8_quantize_inputs(x + i * cols, inputs + i * cols, inputScales + i, inputZeros + i, share.count, cols)
            }
            let w = data.assumingMemoryBound(to: Int8.self)
            if Self.throughOneDNN(count) {
                // Each thread quantizes the inputs of its own share, then multiplies them.
                withUnsafePointer(to: epilogue.c) { fused in
                    pool.forEachChunk(count, minimumChunk: Self.oneDNNMinimumInputs) { _, share in
                        quantize(share)
                        let xu = inputs + share.lowerBound * cols, xs = inputScales + share.lowerBound, xz = inputZeros + share.lowerBound
                        let ys = y + share.lowerBound * rows
                        if ck_onednn_gemm_q8(xu, xs, xz, w, scales, rowSums, ys, share.count, rows, cols, fused) != 0 {
                            ck_gemm_q8(xu, xs, xz, w, scales, rowSums, ys, share.count, rows, cols, 0, rows)
                            epilogue.apply(ys, count: share.count, width: rows)
                        }
                    }
                }
                return true
            }
            pool.forEachChunk(count, minimumChunk: Self.oneDNNMinimumInputs) { _, share in quantize(share) }
            pool.forEachChunk(rows, minimumChunk: 64) { _, range in
                ck_gemm_q8(inputs, inputScales, inputZeros, data.assumingMemoryBound(to: Int8.self), scales, rowSums,
                           y, count, rows, cols, range.lowerBound, range.upperBound)
            }
            return false
        }
        if format == .bf16, count > Self.matvecLimit, Int(ck_bf16_gemm()) == Int(CK_GEMM_AVX512BF16) {
            // bf16 × bf16 GEMM (AVX512-BF16): the weights as stored, the inputs rounded to bf16 once.
            let inputs = quantized.bindMemory(to: UInt16.self, capacity: count * cols)
            pool.forEachChunk(count, minimumChunk: Self.oneDNNMinimumInputs) { _, share in
                ck_gemm_bf16_convert_inputs(x + share.lowerBound * cols, inputs + share.lowerBound * cols, share.count, cols)
            }
            let w = data.assumingMemoryBound(to: UInt16.self)
            if Self.throughOneDNN(count) {
                pool.forEachChunk(count, minimumChunk: Self.oneDNNMinimumInputs) { _, share in
                    let xb = inputs + share.lowerBound * cols, ys = y + share.lowerBound * rows
                    if ck_onednn_matmul(Int32(CK_ONEDNN_BF16), xb, w, ys, share.count, rows, cols) != 0 {
                        ck_gemm_bf16(xb, w, ys, share.count, rows, cols, 0, rows)
                    }
                }
                return false
            }
            pool.forEachChunk(rows, minimumChunk: 64) { _, range in
                ck_gemm_bf16(inputs, data.assumingMemoryBound(to: UInt16.self), y, count, rows, cols,
                             range.lowerBound, range.upperBound)
            }
            return false
        }
        if format == .int4, count > Self.matvecLimit, Int(ck_isa()) == Int(CK_ISA_AVX2) {
            // int4 prefill on the kernels that unpack the weights (AVX-512 VNNI's, inputs quantized per block of 32, else
            // AVX2's tiles, per block of 256; integer multiply-adds), in blocks of at most `int4GEMMInputBlock` inputs, so
            // that each tile of weights is unpacked once for many inputs (+8% at 512 inputs a call: 2,142–2,292 against 1,958–2,026
            // tokens/s in blocks of 64, opt-125m on 2 Zen 4 cores), of even sizes, so that no short last block goes to
            // the row kernel (both take every batch past `matvecLimit`).
            let blocks = (count + Self.int4GEMMInputBlock - 1) / Self.int4GEMMInputBlock
            let block = (count + blocks - 1) / blocks
            let w = data.assumingMemoryBound(to: UInt8.self)
            // Both kernels take the inputs prepared once into `quantized` for all threads, where each thread had prepared
            // all of them for itself (opt-125m's int4 prefill, interleaved runs, tokens/s: AVX2's tiles on 2 AMD Zen 1
            // cores 341.6–355.1 against 324.4–336.4; VNNI's kernel on 2 Zen 5 cores 4,488–4,726 against 4,352–4,442).
            let preparedBytes = ck_q4_prepared_bytes(count, cols)
            if preparedBytes > 0 {
                precondition(preparedBytes <= Self.quantizedBytes(count: count, cols: cols))
                pool.forEachChunk(count, minimumChunk: Self.matvecLimit) { _, share in
                    ck_q4_prepare_inputs(x, count, cols, quantized, share.lowerBound, share.upperBound)
                }
            }
            pool.forEachChunk(rows, minimumChunk: 64) { _, range in
                var start = 0
                while start < count {
                    let n = min(block, count - start)
                    if preparedBytes == 0 || ck_matmul_q4_prepared(w, groupScales, quantized, y, count, rows, cols, start, n,
                                                                   range.lowerBound, range.upperBound) != 0 {
                        ck_matmul_q4(w, groupScales, x + start * cols, y + start * rows, n, rows, cols,
                                     range.lowerBound, range.upperBound)
                    }
                    start += n
                }
            }
            return false
        }
        if count <= Self.matvecLimit {
            // Decode: each thread streams its share of the rows once for all `count` inputs.
            pool.forEachChunk(rows, minimumChunk: 64, piecesPerThread: ComputePool.decodePiecesPerThread) { _, range in
                matmulRows(x, count: count, into: y, range)
            }
            return false
        }
        if format == .f32, Self.throughOneDNN(count), Self.oneDNNF32TakesInputShares {
            let w = data.assumingMemoryBound(to: Float.self)
            pool.forEachChunk(count, minimumChunk: Self.oneDNNMinimumInputs) { _, share in
                let xs = x + share.lowerBound * cols, ys = y + share.lowerBound * rows
                if ck_onednn_matmul(Int32(CK_ONEDNN_F32), xs, w, ys, share.count, rows, cols) != 0 {
                    BLAS.sgemm(transposeA: false, transposeB: true, m: share.count, n: rows, k: cols,
                               a: xs, lda: cols, b: w, ldb: cols, c: ys, ldc: rows)
                }
            }
            return false
        }
        pool.forEachChunk(rows, minimumChunk: 64) { slot, range in
            if format == .f32 {
                BLAS.sgemm(oneDNN: ck_onednn() != 0, transposeA: false, transposeB: true, m: count, n: range.count, k: cols,
                           a: x, lda: cols, b: data.assumingMemoryBound(to: Float.self) + range.lowerBound * cols, ldb: cols,
                           c: y + range.lowerBound, ldc: rows)
                return
            }
            // Compressed weights: convert a tile of rows to f32, then one GEMM per tile, through oneDNN where it is on:
            // OpenBLAS's Zen kernel prefetches into pages of its packing buffer that a tile's product never writes,
            // each prefetch a page walk to nothing, and ran 3× slower for it (opt-125m int8 prefill on one AMD Zen 1
            // core: 45 tokens/s through OpenBLAS, 128 through oneDNN).
            let tile = scratch + slot * Self.tileRows * cols
            var start = range.lowerBound
            while start < range.upperBound {
                let end = min(range.upperBound, start + Self.tileRows)
                toFloat(rows: start..<end, into: tile)
                BLAS.sgemm(oneDNN: ck_onednn() != 0, transposeA: false, transposeB: true, m: count, n: end - start, k: cols,
                           a: x, lda: cols, b: tile, ldb: cols, c: y + start, ldc: rows)
                start = end
            }
        }
        return false
    }

    /// Whether the int8 GEMM multiplies `count` inputs of int8 weights: on AVX-512 VNNI and AVX-VNNI from two inputs on,
    /// batched decode included (it beats the f32 tiles there); on AVX2 only through oneDNN, past the decode kernels' limit.
    public static func int8GEMMTakes(count: Int) -> Bool {
        switch Int(ck_q8_gemm()) {
        case Int(CK_GEMM_AVX512VNNI), Int(CK_GEMM_AVXVNNI): count > 1
        case Int(CK_GEMM_AVX2_ONEDNN): throughOneDNN(count)
        default: false
        }
    }

    /// Whether an int4 kernel that unpacks the weights (AVX-512 VNNI's, on with the int8 GEMM; AVX2's tiles) multiplies
    /// `count` inputs of int4 weights: from the batch size on where the unpacking pays off (`ck_q4_gemm_takes`).
    public static func int4GEMMTakes(count: Int) -> Bool { ck_q4_gemm_takes(count) != 0 }

    /// Whether a product of `count` inputs goes through oneDNN (`KernelPath.oneDNN`): past the matrix-vector
    /// limit, for the formats it multiplies as stored (f32; int8 on our VNNI GEMM's quantized inputs, whose
    /// exact int32 sums then give the same bits; bf16 when the bf16 GEMM was asked for). Each thread then takes
    /// a share of the inputs (oneDNN's fast kernels want a dense output) and all the weights, except for f32 off
    /// AVX-512 (`oneDNNF32TakesInputShares`); a share oneDNN refuses runs on the kernel the format has without it.
    private static func throughOneDNN(_ count: Int) -> Bool { count > Self.matvecLimit && ck_onednn() != 0 }

    /// Whether each thread multiplies f32 weights through oneDNN on a share of the inputs (and all the weights) rather than
    /// on a share of the weight rows (and all the inputs, its results a strided block of the output): on AVX-512, whose
    /// brgemm wants a dense output. On AVX2 (`gemm:jit`) with shares of the inputs every thread read all the weights,
    /// and shares of the rows were faster and steadier (AMD Zen 1, 2 threads, `optiml speed-gemm --repeat 5`, means of
    /// five interleaved runs, GFLOP/s: fc1 71.8 against 53.3, lm_head 68.4 against 61.9, lm_head on 32 positions 47.0
    /// against 35.1, the other shapes equal).
    static let oneDNNF32TakesInputShares = ck_has(UInt32(CK_FEATURE_AVX512F)) != 0

    /// Shares of fewer inputs than this run oneDNN's kernels below their speed.
    static let oneDNNMinimumInputs = 16

    /// Inputs per call at most of the int4 kernels that unpack the weights: where one prepares a call's inputs itself
    /// (`ck_matmul_q4`, when the shared preparation does not apply), it does so into a buffer of each thread's own (a
    /// byte per input and column), which this bounds.
    static let int4GEMMInputBlock = 512

    /// Rows converted per GEMM tile when the weights are not f32.
    public static let tileRows = 256

    /// Rows `range` of W converted to Float32 into `out` (`range.count × cols`).
    public func toFloat(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let begin = range.lowerBound, end = range.upperBound
        switch format {
        case .f32:
            out.update(from: data.assumingMemoryBound(to: Float.self) + begin * cols, count: range.count * cols)
        case .f16:
            ck_rows_to_f32_f16(data.assumingMemoryBound(to: UInt16.self), out, cols, begin, end)
        case .bf16:
            ck_rows_to_f32_bf16(data.assumingMemoryBound(to: UInt16.self), out, cols, begin, end)
        case .int8:
            ck_rows_to_f32_q8(data.assumingMemoryBound(to: Int8.self), scales, out, cols, begin, end)
        case .int4:
            ck_rows_to_f32_q4(data.assumingMemoryBound(to: UInt8.self), groupScales, out, cols, begin, end)
        }
    }

    private func matmulRows(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        let b = range.lowerBound, e = range.upperBound
        switch format {
        case .f32: ck_matmul_f32(data.assumingMemoryBound(to: Float.self), x, y, count, rows, cols, b, e)
        case .f16: ck_matmul_f16(data.assumingMemoryBound(to: UInt16.self), x, y, count, rows, cols, b, e)
        case .bf16: ck_matmul_bf16(data.assumingMemoryBound(to: UInt16.self), x, y, count, rows, cols, b, e)
        case .int8: ck_matmul_q8(data.assumingMemoryBound(to: Int8.self), scales, x, y, count, rows, cols, b, e)
        case .int4: ck_matmul_q4(data.assumingMemoryBound(to: UInt8.self), groupScales, x, y, count, rows, cols, b, e)
        }
    }
}

/// What a linear layer's results go through as a product stores them: `(y + bias) · scale`, then ReLU where
/// `relu` (`ck_bias_scale_relu_f32`'s steps in its order, so the same bits wherever it is applied).
public struct Epilogue {
    /// One per output column (nil: none).
    public var bias: UnsafePointer<Float>?
    public var scale: Float
    public var relu: Bool

    public init(bias: UnsafePointer<Float>? = nil, scale: Float = 1, relu: Bool = false) {
        self.bias = bias
        self.scale = scale
        self.relu = relu
    }

    public static var none: Epilogue { Epilogue() }

    var isNone: Bool { bias == nil && scale == 1 && !relu }

    var c: ck_epilogue { ck_epilogue(bias: bias, scale: scale, relu: relu ? 1 : 0) }

    /// Applies it to `count` rows of `width` results.
    func apply(_ y: UnsafeMutablePointer<Float>, count: Int, width: Int) {
        guard !isNone else { return }
        ck_bias_scale_relu_f32(y, count, width, bias, scale, relu ? 1 : 0)
    }
}
