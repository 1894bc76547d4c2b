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

    /// A pool of `threads` threads (default: every core).
    public init(threads: Int? = nil) {
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        // The pool splits every GEMM itself; BLAS threads would spin beside it.
        BLAS.setThreadCount(1)
    }

    /// Runs `body(chunk, range)` over `0..<count` cut into at most `threads` contiguous chunks of
    /// at least `minimumChunk` items, in parallel; `chunk` (below `threads`) indexes per-thread
    /// scratch space. Small loops run on the calling thread.
    public func forEachChunk(_ count: Int, minimumChunk: Int = 1, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        let chunks = min(threads, max(1, count / max(minimumChunk, 1)))
        if chunks <= 1 {
            body(0, 0..<count)
            return
        }
        // The chunks are disjoint and ck_pool_run returns only when all are done, so the caller's
        // buffers are never touched by two threads at once or after this call.
        withoutActuallyEscaping(body) { escapable in
            var task = escapable
            withUnsafeMutablePointer(to: &task) { pointer in
                ck_pool_run(chunks, count, { context, chunk, begin, end in
                    guard let context else { return }
                    context.assumingMemoryBound(to: ((Int, Range<Int>) -> Void).self).pointee(chunk, begin..<end)
                }, pointer)
            }
        }
    }

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
