#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Single-precision matrix products through the system BLAS (Accelerate on Apple platforms, OpenBLAS elsewhere).
///
/// All matrices are row-major, as PyTorch stores them, so a checkpoint's `[out, in]` weight is used in place.
public enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, where op transposes when asked.
    @inlinable
    public static func sgemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasInt(m), blasInt(n), blasInt(k),
            alpha, a, blasInt(lda), b, blasInt(ldb),
            beta, c, blasInt(ldc))
    }

    /// C[n×n] = alpha · op(A) · op(A)ᵀ + beta · C, on C's upper or lower triangle only (the other is left as it
    /// was), where op(A) is A [n×k], or Aᵀ for A [k×n] when `transposeA`.
    @inlinable
    public static func ssyrk(
        upper: Bool, transposeA: Bool, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, beta: Float = 1, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_ssyrk(CblasRowMajor, upper ? CblasUpper : CblasLower, transposeA ? CblasTrans : CblasNoTrans,
                    blasInt(n), blasInt(k), alpha, a, blasInt(lda), beta, c, blasInt(ldc))
    }

    /// B[m×n] = op(L)⁻¹ · B (`fromLeft`) or B · op(L)⁻¹ for L lower triangular (m × m or n × n), where op(L) is L or Lᵀ.
    @inlinable
    public static func solveLowerTriangular(
        fromLeft: Bool, transposeL: Bool, m: Int, n: Int,
        l: UnsafePointer<Float>, ldl: Int, b: UnsafeMutablePointer<Float>, ldb: Int
    ) {
        cblas_strsm(CblasRowMajor, fromLeft ? CblasLeft : CblasRight, CblasLower, transposeL ? CblasTrans : CblasNoTrans,
                    CblasNonUnit, blasInt(m), blasInt(n), 1, l, blasInt(ldl), b, blasInt(ldb))
    }

    /// Sets how many threads BLAS may use (no-op where the library offers no such control).
    public static func setThreadCount(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(count))
        #endif
    }

    /// BLAS takes 32-bit sizes; callers keep every size within them (configs are validated), so one that
    /// is not is a bug, stopped here rather than truncated into another size.
    @usableFromInline
    static func blasInt(_ value: Int) -> Int32 {
        guard let size = Int32(exactly: value) else { fatalError("BLAS size \(value) does not fit in 32 bits") }
        return size
    }
}

extension BLAS {
    /// The BLAS library and the processor path it chose (OpenBLAS's core name), which decide how its sums are ordered.
    public static var implementation: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        return "OpenBLAS " + String(cString: openblas_get_corename())
        #endif
    }
}
