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
}
