/// A fixed-size block of Float32 owned by the model: weights and scratch space for the hot loop.
///
/// A class so that large weights are never copied; the storage is written only while loading.
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Zero-filled storage of `count` floats.
    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Storage holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            pointer.update(from: base, count: values.count)
        }
    }

    deinit { pointer.deallocate() }

    /// The values as an array (for tests and small reads).
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
