import CKernels
import Dispatch
import Testing

/// The thread pool runs every chunk exactly once, loop after loop, even with several callers at once.
@Suite("Thread pool")
struct PoolTests {
    /// Adds 1 to every element of `counts` through ck_pool_run, cut into `chunks`.
    static func increment(_ counts: UnsafeMutableBufferPointer<Int32>, chunks: Int) {
        ck_pool_run(chunks, counts.count, { context, _, begin, end in
            guard let base = context?.assumingMemoryBound(to: Int32.self) else { return }
            for i in begin..<end { base[i] += 1 }
        }, counts.baseAddress)
    }

    @Test func everyItemOnceOverManyLoops() {
        var counts = [Int32](repeating: 0, count: 1000)
        counts.withUnsafeMutableBufferPointer { buffer in
            for loop in 0..<2000 { Self.increment(buffer, chunks: 1 + loop % 4) }
        }
        // Which items went wrong, and how, says where a race lies (a chunk run twice, or skipped, or a range off).
        let wrong = counts.indices.filter { counts[$0] != 2000 }
        #expect(wrong.isEmpty, "\(wrong.count) items off, e.g. \(wrong.prefix(8).map { "item \($0): \(counts[$0])" })")
    }

    @Test func concurrentCallersEachGetAllTheirItems() {
        let callers = 4
        let results = (0..<callers).map { _ in UnsafeMutableBufferPointer<Int32>.allocate(capacity: 777) }
        defer { results.forEach { $0.deallocate() } }
        for buffer in results { buffer.initialize(repeating: 0) }
        nonisolated(unsafe) let shared = results
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for _ in 0..<500 { Self.increment(shared[caller], chunks: 3) }
        }
        for buffer in results { #expect(buffer.allSatisfy { $0 == 500 }) }
    }
}
