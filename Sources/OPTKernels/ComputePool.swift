import CKernels
import Foundation

/// Splits loops across threads; one per model run, so `--threads` applies to all of its kernels.
///
/// The threads are CKernels' pool: workers spin briefly between loops, since a generated token
/// is about a hundred loops of tens of microseconds, where waking sleeping threads would cost
/// more than the work.
public struct ComputePool: Sendable {
    /// Threads a loop may use.
    public let threads: Int

    /// The most threads a pool runs on: CKernels' pool has 255 workers beside the calling thread.
    public static let maximumThreads = 256

    /// A pool of `threads` threads (default: every core), at most `maximumThreads`.
    public init(threads: Int? = nil) {
        self.threads = min(Self.maximumThreads, max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount))
        // The pool splits every GEMM itself; BLAS threads would spin beside it.
        BLAS.setThreadCount(1)
    }

    /// Runs `body` with BLAS on this pool's threads, for large BLAS calls made outside the pool's loops (calibration's
    /// products, GPTQ's factorizations), which would otherwise run on one thread.
    public func withBLASThreads<T>(_ body: () throws -> T) rethrows -> T {
        BLAS.setThreadCount(threads)
        defer { BLAS.setThreadCount(1) }
        return try body()
    }

    /// Runs `body(slot, range)` over `0..<count` cut into at most `threads × piecesPerThread` contiguous pieces of at
    /// least `minimumChunk` items, in parallel, each thread claiming the next piece as it finishes one; `slot` (below
    /// `threads`, never the same for two pieces running at once) indexes per-thread scratch space. Small loops run on
    /// the calling thread. Pieces beyond one per thread even out threads slowed unequally (by other work on their cores,
    /// a late wake-up); loops whose pieces lose efficiency as they shrink (GEMMs) keep one per thread.
    public func forEachChunk(_ count: Int, minimumChunk: Int = 1, piecesPerThread: Int = 1,
                             _ body: (_ slot: Int, _ range: Range<Int>) -> Void) {
        let chunks = min(threads * max(1, piecesPerThread), max(1, count / max(minimumChunk, 1)))
        if chunks <= 1 || threads <= 1 {
            body(0, 0..<count)
            return
        }
        // The pieces are disjoint and ck_pool_run returns only when all are done, so the caller's
        // buffers are never touched by two threads at once or after this call.
        withoutActuallyEscaping(body) { escapable in
            var task = escapable
            withUnsafeMutablePointer(to: &task) { pointer in
                ck_pool_run(threads, chunks, count, { context, slot, begin, end in
                    guard let context else { return }
                    context.assumingMemoryBound(to: ((Int, Range<Int>) -> Void).self).pointee(slot, begin..<end)
                }, pointer)
            }
        }
    }

    /// Pieces per thread of the decode loops (matrix-vector products, attention over the KV cache): memory-bound row
    /// streams that lose nothing in pieces of a hundred rows, and the loops a token runs most of.
    public static let decodePiecesPerThread = 4

    /// The most blocks `blocks(_:minimumBlock:)` cuts a loop into.
    public static let maximumBlocks = 64

    /// How many blocks `forEachBlock` should cut `count` items into: as many as hold `minimumBlock`
    /// items each, at most `maximumBlocks`, rounded down to a power of two so that pools of 2 or 4
    /// threads get equal shares. It depends on `count` alone, never on the thread count.
    public static func blocks(_ count: Int, minimumBlock: Int) -> Int {
        let most = min(maximumBlocks, max(1, count / max(minimumBlock, 1)))
        return 1 << (Int.bitWidth - 1 - most.leadingZeroBitCount)
    }

    /// Runs `body(block, range)` over `0..<count` cut into `blocks` contiguous blocks, in parallel.
    ///
    /// Unlike `forEachChunk`'s, the blocks do not move with the thread count: partial sums taken per
    /// block and then added in block order, or a BLAS call per block (whose rounding depends on its
    /// shape), give the same bits on any pool, so that a training run may resume with other `--threads`.
    public func forEachBlock(_ count: Int, blocks: Int, _ body: (_ block: Int, _ range: Range<Int>) -> Void) {
        forEachChunk(blocks) { _, indices in
            for block in indices { body(block, (count * block / blocks)..<(count * (block + 1) / blocks)) }
        }
    }
}
