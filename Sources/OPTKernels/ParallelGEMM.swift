extension BLAS {
    /// `sgemm` with C cut into blocks (rows of C when it is taller than wide, else columns), each
    /// block a single-threaded BLAS call shared out over the pool.
    ///
    /// Training runs every product through the pool rather than through BLAS's own threads, so that
    /// BLAS can also be called from inside the pool's loops (attention) without oversubscribing.
    /// The blocks depend on the shape alone (`ComputePool.forEachBlock`): OpenBLAS rounds a block
    /// differently by its shape (its small-matrix kernels), so blocks that followed the thread count
    /// would make the products, and a training run, depend on it. K is never cut.
    public static func sgemm(
        pool: ComputePool, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        // Blocks narrower than this lose more to BLAS packing than they gain from another core.
        let minimumBlock = 64
        if m >= n {
            pool.forEachBlock(m, blocks: ComputePool.blocks(m, minimumBlock: minimumBlock)) { _, rows in
                let i = rows.lowerBound
                sgemm(transposeA: transposeA, transposeB: transposeB, m: rows.count, n: n, k: k,
                      a: transposeA ? a + i : a + i * lda, lda: lda, b: b, ldb: ldb, beta: beta, c: c + i * ldc, ldc: ldc)
            }
        } else {
            pool.forEachBlock(n, blocks: ComputePool.blocks(n, minimumBlock: minimumBlock)) { _, columns in
                let j = columns.lowerBound
                sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: columns.count, k: k,
                      a: a, lda: lda, b: transposeB ? b + j * ldb : b + j, ldb: ldb, beta: beta, c: c + j, ldc: ldc)
            }
        }
    }
}
