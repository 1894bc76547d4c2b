#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed-size block of Float32 that its owner writes: scratch space of the hot loop, KV caches,
/// training state. Not `Sendable`: whoever holds one may be writing it (weights, which are only
/// read once loaded, are `ConstantFloats`).
public final class FloatBuffer {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Bytes mapped for this block (0: it came from the allocator).
    private let mappedBytes: Int

    /// Blocks at least this large are mapped from the system rather than taken from malloc.
    static let mappingThreshold = 1 << 18

    /// Zero-filled storage of `count` floats.
    ///
    /// Large blocks are anonymous mappings: already zero, so no page is touched (resident) until it
    /// is written (a KV cache holds memory only for the positions filled), and unmapped when freed,
    /// so memory goes back to the system at once instead of staying in malloc's heap.
    public init(count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if bytes >= Self.mappingThreshold,
           let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED {
            pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
            mappedBytes = bytes
        } else {
            // Small blocks, or a mapping the system refused: the allocator (which traps when out of memory, as before).
            pointer = .allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
            mappedBytes = 0
        }
    }

    /// Storage holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            pointer.update(from: base, count: values.count)
        }
    }

    deinit {
        if mappedBytes > 0 { munmap(pointer, mappedBytes) } else { pointer.deallocate() }
    }

    /// The values as an array (for tests and small reads).
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// Float32 values fixed once made (position embeddings, biases, layer norms of a loaded model):
/// only a read-only pointer leaves, so every thread may read them at once.
public final class ConstantFloats: @unchecked Sendable {
    /// Owned, and never written after `init` (nothing outside can reach it).
    private let storage: FloatBuffer
    public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
    public var count: Int { storage.count }

    public init(_ values: [Float]) { storage = FloatBuffer(values) }

    /// The values as an array (for tests and small reads).
    public var array: [Float] { storage.array }
}
