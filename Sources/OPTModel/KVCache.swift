/// Keys and values of every layer for one sequence, preallocated to a fixed capacity.
///
/// Each sequence has its own, so that sequences of different lengths run side by side in
/// `OPTModel.forward(sequences:workspace:)` without padding, and join or leave a batch freely.
public final class KVCache {
    public let capacity: Int
    let width: Int
    /// Per layer: `[capacity, hidden]`.
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    /// Positions filled so far; the next token's position id.
    public private(set) var length = 0

    /// A cache for up to `capacity` positions.
    public init(config: OPTConfig, capacity: Int) {
        self.capacity = capacity
        width = config.hiddenSize
        let size = capacity * config.hiddenSize
        keys = (0..<config.numHiddenLayers).map { _ in FloatBuffer(count: size) }
        values = (0..<config.numHiddenLayers).map { _ in FloatBuffer(count: size) }
    }

    /// A cache that starts as a copy of the first `length` positions (default: all) of `source` (a prefix
    /// shared by several continuations), with room for `capacity` positions.
    public init(copying source: KVCache, length: Int? = nil, capacity: Int) {
        let length = min(length ?? source.length, source.length)
        precondition(capacity >= length, "the copy must hold the prefix")
        self.capacity = capacity
        width = source.width
        let size = capacity * width, prefix = length * width
        func copy(_ buffer: FloatBuffer) -> FloatBuffer {
            let copied = FloatBuffer(count: size)
            copied.pointer.update(from: buffer.pointer, count: prefix)
            return copied
        }
        keys = source.keys.map(copy)
        values = source.values.map(copy)
        self.length = length
    }

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
