/// Keys and values of every layer for a batch of sequences, preallocated to a fixed capacity.
///
/// All rows advance together (left padding keeps them aligned); `mask` records which cached
/// positions are real tokens, and `validCounts` how many real tokens each row has, which gives
/// the next position ids exactly as transformers derives them from the attention mask.
public final class KVCache {
    public let batchSize: Int
    public let capacity: Int
    let width: Int
    /// Per layer: `[batch, capacity, hidden]`.
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    /// Positions filled so far (the same for every row).
    public private(set) var length = 0
    /// `mask[b][j]`: position j of row b holds a real token (not padding).
    public private(set) var mask: [[Bool]]
    /// Real tokens seen so far in each row.
    public private(set) var validCounts: [Int]
    /// Scratch space of the forward passes that fill this cache.
    let workspace = Workspace()

    /// A cache for `batchSize` rows of up to `capacity` positions each.
    public init(config: OPTConfig, batchSize: Int, capacity: Int) {
        self.batchSize = batchSize
        self.capacity = capacity
        width = config.hiddenSize
        let size = batchSize * capacity * config.hiddenSize
        keys = (0..<config.numHiddenLayers).map { _ in FloatBuffer(count: size) }
        values = (0..<config.numHiddenLayers).map { _ in FloatBuffer(count: size) }
        mask = Array(repeating: [], count: batchSize)
        validCounts = Array(repeating: 0, count: batchSize)
    }

    /// A cache whose row i starts as a copy of the first `length` positions (default: all) of row
    /// `sourceRows[i]` of `source` (a prefix shared by several continuations), with room for `capacity` positions.
    public init(copying sourceRows: [Int], of source: KVCache, length: Int? = nil, capacity: Int) {
        let length = min(length ?? source.length, source.length)
        precondition(capacity >= length, "the copy must hold the prefix")
        batchSize = sourceRows.count
        self.capacity = capacity
        width = source.width
        let size = sourceRows.count * capacity * width, prefix = length * width
        keys = source.keys.map { _ in FloatBuffer(count: size) }
        values = source.values.map { _ in FloatBuffer(count: size) }
        for (layer, (sourceKeys, sourceValues)) in zip(source.keys, source.values).enumerated() {
            for (row, from) in sourceRows.enumerated() {
                let at = row * capacity * width, start = source.offset(row: from, position: 0)
                (keys[layer].pointer + at).update(from: sourceKeys.pointer + start, count: prefix)
                (values[layer].pointer + at).update(from: sourceValues.pointer + start, count: prefix)
            }
        }
        mask = sourceRows.map { Array(source.mask[$0].prefix(length)) }
        validCounts = mask.map { $0.filter { $0 }.count }
        self.length = length
    }

    /// The bytes its keys and values take.
    public var bytes: Int { Self.bytes(layers: keys.count, width: width, batchSize: batchSize, capacity: capacity) }

    /// The bytes the keys and values of a cache of this shape take (at most: pages are resident
    /// only once positions are filled).
    public static func bytes(config: OPTConfig, batchSize: Int, capacity: Int) -> Int {
        bytes(layers: config.numHiddenLayers, width: config.hiddenSize, batchSize: batchSize, capacity: capacity)
    }

    private static func bytes(layers: Int, width: Int, batchSize: Int, capacity: Int) -> Int {
        2 * layers * batchSize * capacity * width * MemoryLayout<Float>.size
    }

    /// Records `rowMask` for the next positions and returns the position ids of those tokens.
    ///
    /// Padding gets position -1 as in transformers (`cumsum(mask) * mask - 1`).
    func append(rowMask: [[Bool]]) -> [[Int]] {
        var positions = [[Int]]()
        for b in 0..<batchSize {
            var row = [Int]()
            for real in rowMask[b] {
                mask[b].append(real)
                if real { validCounts[b] += 1 }
                row.append(real ? validCounts[b] - 1 : -1)
            }
            positions.append(row)
        }
        length += rowMask.first?.count ?? 0
        return positions
    }

    /// Start of row `b`'s keys or values in a layer buffer.
    func offset(row b: Int, position: Int) -> Int { (b * capacity + position) * width }
}
