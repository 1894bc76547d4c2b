import CKernels
import Foundation

/// The element type of training's matrix products' inputs: f32, or rounded to bfloat16 (nearest even)
/// with f32 sums and results, which the processor's bf16 units (AVX512-BF16, AMX) multiply several times faster.
public enum MatmulPrecision: String, Sendable, CaseIterable, Codable {
    case f32, bf16
}

/// The library that does training's matrix products.
public enum MatmulLibrary: String, Sendable, CaseIterable {
    /// oneDNN's matmul (`ck_onednn_gemm`): f32 or bf16.
    case oneDNN
    /// The system BLAS's `sgemm`: f32 only.
    case blas

    /// oneDNN where libdnnl loaded and the environment does not set OPTIML_ONEDNN=0, else BLAS. Read from
    /// the environment rather than from `KernelPath.useOneDNN`, which tests flip for the whole process.
    public static let preferred: MatmulLibrary = {
        let off = ProcessInfo.processInfo.environment["OPTIML_ONEDNN"] == "0"
        return !off && ck_onednn_version() != nil ? .oneDNN : .blas
    }()

    /// The library with its version or core, as `optiml train-speed` reports it.
    public var description: String {
        switch self {
        case .oneDNN: ck_onednn_version().map { String(cString: $0) } ?? "oneDNN"
        case .blas: BLAS.implementation
        }
    }

    /// Whether this library multiplies in `precision` (BLAS has no bf16).
    public func supports(_ precision: MatmulPrecision) -> Bool { self == .oneDNN || precision == .f32 }
}

extension BLAS {
    /// C = op(A) · op(B) + beta · C with C cut into blocks, each a single-threaded product shared out
    /// over the pool, through `library` in `precision`.
    ///
    /// Training runs every product through the pool rather than through the library's own threads, so
    /// that BLAS can also be called from inside the pool's loops (attention) without oversubscribing.
    /// The blocks depend on the shape alone (`ComputePool.forEachBlock`): BLAS and oneDNN both pick
    /// kernels, and so round, by a block's shape, so blocks that followed the thread count would make the
    /// products, and a training run, depend on it. K is never cut. oneDNN's blocks are rows of C (its fast
    /// kernels want a dense destination) unless C is wider than tall, and hold at least 128 rows or columns.
    /// A precision the library lacks (bf16 on BLAS) runs in f32.
    public static func sgemm(
        pool: ComputePool, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        precision: MatmulPrecision = .f32, library: MatmulLibrary = .preferred
    ) {
        guard m > 0, n > 0 else { return }
        let oneDNN = library == .oneDNN
        // Blocks narrower than this lose more to packing than they gain from another core.
        let minimumBlock = oneDNN ? 128 : 64
        // bf16: each operand rounded once, its rows in parallel, into the calling thread's buffers, which every
        // block then reads (rounding per block would round a shared operand once per block).
        let a16 = oneDNN && precision == .bf16 ? rounded(a, ld: lda, rows: transposeA ? k : m, cols: transposeA ? m : k, which: 0, pool: pool) : nil
        let b16 = a16 == nil ? nil : rounded(b, ld: ldb, rows: transposeB ? n : k, cols: transposeB ? k : n, which: 1, pool: pool)
        let lda16 = transposeA ? m : k, ldb16 = transposeB ? k : n
        // One block: rows `i`… of op(A) and columns `j`… of op(B), with the offsets of the operands' first elements.
        func product(_ m: Int, _ n: Int, a aOffset: (Int) -> Int, b bOffset: (Int) -> Int, _ c: UnsafeMutablePointer<Float>) {
            if let a16, let b16,
               ck_onednn_gemm_bf16(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, 1, a16 + aOffset(lda16), lda16,
                                   b16 + bOffset(ldb16), ldb16, beta, c, ldc) == 0 {
                return
            }
            sgemm(oneDNN: oneDNN && precision == .f32, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                  a: a + aOffset(lda), lda: lda, b: b + bOffset(ldb), ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        if m >= n {
            pool.forEachBlock(m, blocks: ComputePool.blocks(m, minimumBlock: minimumBlock)) { _, rows in
                let i = rows.lowerBound
                product(rows.count, n, a: { transposeA ? i : i * $0 }, b: { _ in 0 }, c + i * ldc)
            }
        } else {
            pool.forEachBlock(n, blocks: ComputePool.blocks(n, minimumBlock: minimumBlock)) { _, columns in
                let j = columns.lowerBound
                product(m, columns.count, a: { _ in 0 }, b: { transposeB ? j * $0 : j }, c + j)
            }
        }
    }

    /// One f32 product on the calling thread: through oneDNN where `oneDNN` and it runs the product, else BLAS.
    static func sgemm(oneDNN: Bool, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if oneDNN,
           ck_onednn_gemm(Int32(CK_ONEDNN_F32), transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, 1, a, lda, b, ldb, beta, c, ldc) == 0 {
            return
        }
        sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// `rows × cols` of f32 at stride `ld` rounded to bf16 (nearest even) into the calling thread's dense buffer
    /// `which`; nil where there is none (no oneDNN, or no memory).
    private static func rounded(_ x: UnsafePointer<Float>, ld: Int, rows: Int, cols: Int, which: Int32,
                                pool: ComputePool) -> UnsafeMutablePointer<UInt16>? {
        guard let buffer = ck_bf16_operand(which, rows * cols) else { return nil }
        pool.forEachChunk(rows, minimumChunk: max(1, 16_384 / max(cols, 1))) { _, range in
            for r in range { ck_f32_to_bf16(x + r * ld, buffer + r * cols, cols) }
        }
        return buffer
    }
}
