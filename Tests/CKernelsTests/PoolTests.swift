import CKernels
import Foundation
import Dispatch
import Testing

/// The thread pool runs every chunk exactly once, loop after loop, even with several callers at once.
@Suite("Thread pool")
struct PoolTests {
    /// Adds 1 to every element of `counts` through ck_pool_run, cut into `chunks`.
    static func increment(_ counts: UnsafeMutableBufferPointer<Int32>, chunks: Int) {
        ck_pool_run(chunks, chunks, counts.count, { context, _, begin, end in
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

    /// What the chunks of a loop saw: which slots run a chunk now, slots out of range or taken twice, visits per item.
    final class SlotLedger: @unchecked Sendable {
        private let lock = NSLock()
        private var busy: [Bool]
        private(set) var visits: [Int]
        private(set) var clashes = 0, outOfRange = 0
        private var threads: Int

        init(slots: Int, items: Int) {
            busy = Array(repeating: false, count: slots)
            visits = Array(repeating: 0, count: items)
            threads = slots
        }

        /// A new loop on this many threads.
        func begin(threads: Int) { lock.withLock { self.threads = threads } }

        func run(slot: Int, items: Range<Int>) {
            lock.withLock {
                guard slot >= 0, slot < threads else { outOfRange += 1; return }
                if busy[slot] { clashes += 1 }
                busy[slot] = true
            }
            for i in items { lock.withLock { visits[i] += 1 } }
            lock.withLock { if slot >= 0, slot < threads { busy[slot] = false } }
        }
    }

    @Test func moreChunksThanThreadsRunOnceEachWithSlotsBelowTheThreadCount() {
        let items = 500, loops = 300
        let ledger = SlotLedger(slots: 4, items: items)
        for loop in 0..<loops {
            // The pool keeps the workers of the widest loop so far; a narrower loop must not take more of them.
            let (threads, chunks) = [(4, 5), (2, 16), (3, 9), (1, 7)][loop % 4]
            ledger.begin(threads: threads)
            ck_pool_run(threads, chunks, items, { context, slot, begin, end in
                Unmanaged<SlotLedger>.fromOpaque(context!).takeUnretainedValue().run(slot: slot, items: begin..<end)
            }, Unmanaged.passUnretained(ledger).toOpaque())
        }
        #expect(ledger.outOfRange == 0, "chunks ran in a slot at or past their loop's thread count")
        #expect(ledger.clashes == 0, "two chunks ran at once in one slot")
        #expect(ledger.visits.allSatisfy { $0 == loops }, "items not run once per loop")
    }
}
