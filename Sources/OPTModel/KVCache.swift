import Foundation

/// Keys and values of every layer for one sequence, preallocated to a fixed capacity.
///
/// Each sequence has its own, so that sequences of different lengths run side by side in
/// `OPTModel.forward(sequences:workspace:)` without padding, and join or leave a batch freely.
public final class KVCache {
    public let capacity: Int
    let width: Int
    /// Per layer: at least `[capacity, hidden]` (a recycled buffer may be longer); only the first
    /// `length` positions hold this sequence's keys and values.
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    /// Positions filled so far; the next token's position id.
    public private(set) var length = 0
    /// Where the buffers go when the cache is freed (nil: back to the system).
    private let recycler: KVBufferRecycler?

    /// A cache for up to `capacity` positions, its buffers taken from `recycler` where it keeps some.
    init(config: OPTConfig, capacity: Int, recycler: KVBufferRecycler?) {
        self.capacity = capacity
        width = config.hiddenSize
        self.recycler = recycler
        let size = capacity * config.hiddenSize
        keys = (0..<config.numHiddenLayers).map { _ in recycler?.take(count: size) ?? FloatBuffer(count: size) }
        values = (0..<config.numHiddenLayers).map { _ in recycler?.take(count: size) ?? FloatBuffer(count: size) }
    }

    /// A cache for up to `capacity` positions.
    public convenience init(config: OPTConfig, capacity: Int) {
        self.init(config: config, capacity: capacity, recycler: nil)
    }

    /// A cache that starts as a copy of the first `length` positions (default: all) of `source` (a prefix
    /// shared by several continuations), with room for `capacity` positions.
    init(copying source: KVCache, length: Int?, capacity: Int, recycler: KVBufferRecycler?) {
        let length = min(length ?? source.length, source.length)
        precondition(capacity >= length, "the copy must hold the prefix")
        self.capacity = capacity
        width = source.width
        self.recycler = recycler
        let size = capacity * width, prefix = length * width
        func copy(_ buffer: FloatBuffer) -> FloatBuffer {
            let copied = recycler?.take(count: size) ?? FloatBuffer(count: size)
            copied.pointer.update(from: buffer.pointer, count: prefix)
            return copied
        }
        keys = source.keys.map(copy)
        values = source.values.map(copy)
        self.length = length
    }

    /// A cache that starts as a copy of the first `length` positions (default: all) of `source`.
    public convenience init(copying source: KVCache, length: Int? = nil, capacity: Int) {
        self.init(copying: source, length: length, capacity: capacity, recycler: nil)
    }

    deinit { recycler?.keep(keys + values) }

    /// The bytes its keys and values take.
    public var bytes: Int { Self.bytes(layers: keys.count, width: width, capacity: capacity) }

    /// The bytes the keys and values of a cache of this capacity take (at most: pages are resident
    /// only once positions are filled).
    public static func bytes(config: OPTConfig, capacity: Int) -> Int {
        bytes(layers: config.numHiddenLayers, width: config.hiddenSize, capacity: capacity)
    }

    private static func bytes(layers: Int, width: Int, capacity: Int) -> Int {
        2 * layers * capacity * width * MemoryLayout<Float>.size
    }

    /// Takes the next `count` positions and returns their position ids.
    func append(count: Int) -> Range<Int> {
        defer { length += count }
        return length..<(length + count)
    }

    /// Start of a position's keys or values in a layer buffer.
    func offset(position: Int) -> Int { position * width }
}

/// Buffers of freed KV caches, kept for the next caches: a 512-token prefill of opt-125m that writes its keys
/// and values into fresh pages spends about 4% of its time faulting them in (9,216 pages of 4 KB).
///
/// A request takes the smallest kept buffer that holds it. When none does, every kept buffer is smaller
/// than the request, and all are freed before a new one is mapped: the caches' memory so never exceeds
/// what the caches alive at one moment have needed. A recycled buffer is not cleared; a cache reads only
/// the positions it has written.
final class KVBufferRecycler: @unchecked Sendable {
    private let lock = NSLock()
    /// Sorted by length.
    private var kept: [FloatBuffer] = []

    /// A buffer of at least `count` floats: a kept one, or a new zeroed one.
    func take(count: Int) -> FloatBuffer {
        let reused: FloatBuffer? = lock.withLock {
            guard let index = kept.firstIndex(where: { $0.count >= count }) else {
                kept.removeAll()
                return nil
            }
            return kept.remove(at: index)
        }
        return reused ?? FloatBuffer(count: count)
    }

    /// Keeps the buffers of a freed cache.
    func keep(_ buffers: [FloatBuffer]) {
        lock.withLock {
            kept += buffers
            kept.sort { $0.count < $1.count }
        }
    }

    /// Bytes the kept buffers hold (at most: only pages once written are resident).
    var bytes: Int { lock.withLock { kept.map(\.count).reduce(0, +) * MemoryLayout<Float>.stride } }

    /// Frees the kept buffers.
    func release() { lock.withLock { kept.removeAll() } }
}
