import Foundation
import HeapModule

/// The BPE model stage: turns one pre-token's bytes into vocabulary ids by applying merges in
/// rank order, exactly as `tokenizers`' `Word::merge_all` does.
struct BPEModel: Sendable {
    /// The id of each single byte's token; -1 when the vocabulary lacks it.
    let byteIDs: [Int32]
    /// (left id, right id) -> (rank, merged id).
    let merges: MergeTable
    /// Replaces bytes whose token is missing; nil drops them (Hugging Face does the same when
    /// the model has no unk token).
    let unknownID: Int32?
    /// Hugging Face's `fuse_unk`: a run of missing bytes becomes one unk.
    let fuseUnknown: Bool
    /// Hugging Face's `ignore_merges`: a pre-token that is itself a vocabulary entry is emitted
    /// as is, keyed by its bytes.
    let wholeWordIDs: [[UInt8]: Int32]?
    private let cache: WordCache

    /// Builds the model; `path` names the file in errors.
    init(vocab: [String: Int], merges: [(String, String)], unknownToken: String?, fuseUnknown: Bool = false,
         ignoreMerges: Bool = false, path: String) throws {
        var byteIDs = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            if let id = vocab[String(Character(ByteLevel.scalarForByte[byte]))] { byteIDs[byte] = Int32(id) }
        }
        self.byteIDs = byteIDs
        var table = MergeTable(capacity: merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftID = vocab[left] else { throw TokenizerError.mergeTokenNotInVocabulary(path: path, token: left) }
            guard let rightID = vocab[right] else { throw TokenizerError.mergeTokenNotInVocabulary(path: path, token: right) }
            guard let mergedID = vocab[left + right] else {
                throw TokenizerError.mergeTokenNotInVocabulary(path: path, token: left + right)
            }
            // A repeated pair keeps its last rank, as both Hugging Face implementations do.
            table.insert(left: Int32(leftID), right: Int32(rightID), rank: Int32(rank), merged: Int32(mergedID))
        }
        self.merges = table
        if let unknownToken {
            guard let id = vocab[unknownToken] else {
                throw TokenizerError.unknownToken(path: path, token: unknownToken, role: "model unk_token")
            }
            unknownID = Int32(id)
        } else {
            unknownID = nil
        }
        self.fuseUnknown = fuseUnknown
        if ignoreMerges {
            var whole: [[UInt8]: Int32] = [:]
            for (token, id) in vocab {
                if let bytes = ByteLevel.bytes(ofToken: token) { whole[bytes] = Int32(id) }
            }
            wholeWordIDs = whole
        } else {
            wholeWordIDs = nil
        }
        cache = WordCache()
    }

    /// Appends the ids of one pre-token to `ids`.
    func tokenize(_ word: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        if word.count == 1 {
            let id = byteIDs[Int(word[0])]
            if id >= 0 { ids.append(Int(id)) } else if let unknownID { ids.append(Int(unknownID)) }
            return
        }
        if let wholeWordIDs, let id = wholeWordIDs[Array(word)] {
            ids.append(Int(id))
            return
        }
        if let cached = cache.lookup(word) {
            for id in cached { ids.append(Int(id)) }
            return
        }
        let merged = merge(word)
        cache.store(word, merged)
        for id in merged { ids.append(Int(id)) }
    }

    /// `Word::merge_all`: a min-heap of candidate merges ordered by (rank, position); a popped
    /// candidate is skipped when its left symbol is gone or the pair there no longer produces
    /// the same id. Reproducing that heap (rather than the slow tokenizer's "merge every
    /// occurrence of the best pair") keeps ids identical even for vocabularies where two merges
    /// yield the same token.
    func merge(_ word: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var symbol: [Int32] = []
        var length: [Int32] = []
        symbol.reserveCapacity(word.count)
        length.reserveCapacity(word.count)
        // Hugging Face gives each missing character (here: byte) its own unk, or one unk per run
        // with fuse_unk.
        var pendingUnknown: Int32 = 0
        for byte in word {
            let id = byteIDs[Int(byte)]
            if id >= 0 {
                if pendingUnknown > 0, let unknownID {
                    symbol.append(unknownID)
                    length.append(pendingUnknown)
                    pendingUnknown = 0
                }
                symbol.append(id)
                length.append(1)
            } else if let unknownID {
                if fuseUnknown {
                    pendingUnknown += 1
                } else {
                    symbol.append(unknownID)
                    length.append(1)
                }
            }
        }
        if pendingUnknown > 0, let unknownID {
            symbol.append(unknownID)
            length.append(pendingUnknown)
        }
        let count = symbol.count
        if count < 2 { return symbol }

        var previous = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = Int32(index) - 1 }
            initialized = count
        }
        var next = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = index + 1 < count ? Int32(index + 1) : -1 }
            initialized = count
        }
        var heap = Heap<MergeCandidate>()
        for position in 0..<(count - 1) {
            if let (rank, merged) = merges.lookup(left: symbol[position], right: symbol[position + 1]) {
                heap.insert(MergeCandidate(rank: rank, position: Int32(position), merged: merged))
            }
        }
        while let top = heap.popMin() {
            let position = Int(top.position)
            if length[position] == 0 { continue }
            let right = Int(next[position])
            if right < 0 { continue }
            guard let (_, merged) = merges.lookup(left: symbol[position], right: symbol[right]), merged == top.merged else {
                continue
            }
            symbol[position] = merged
            length[position] += length[right]
            length[right] = 0
            let afterRight = next[right]
            next[position] = afterRight
            if afterRight >= 0 { previous[Int(afterRight)] = Int32(position) }
            let before = previous[position]
            if before >= 0, let (rank, newMerged) = merges.lookup(left: symbol[Int(before)], right: merged) {
                heap.insert(MergeCandidate(rank: rank, position: before, merged: newMerged))
            }
            if afterRight >= 0, let (rank, newMerged) = merges.lookup(left: merged, right: symbol[Int(afterRight)]) {
                heap.insert(MergeCandidate(rank: rank, position: Int32(position), merged: newMerged))
            }
        }
        var result: [Int32] = []
        result.reserveCapacity(count)
        for index in 0..<count where length[index] != 0 { result.append(symbol[index]) }
        return result
    }
}

/// Open-addressing hash map from an id pair to (rank, merged id); the standard Dictionary's
/// SipHash costs more than the rest of the merge loop.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    mutating func insert(left: Int32, right: Int32, rank: Int32, merged: Int32) {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var index = slot(for: key)
        while keys[index] != Self.empty && keys[index] != key { index = (index + 1) & mask }
        keys[index] = key
        values[index] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    @inline(__always)
    func lookup(left: Int32, right: Int32) -> (rank: Int32, merged: Int32)? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var index = slot(for: key)
        while true {
            let stored = keys[index]
            if stored == key {
                let value = values[index]
                return (Int32(truncatingIfNeeded: value >> 32), Int32(truncatingIfNeeded: value))
            }
            if stored == Self.empty { return nil }
            index = (index + 1) & mask
        }
    }
}

/// A merge candidate, ordered by (rank, position) as `tokenizers`' `Merge` type.
private struct MergeCandidate: Comparable {
    var key: UInt64
    var merged: Int32
    var position: Int32 { Int32(truncatingIfNeeded: key & 0xFFFF_FFFF) }

    init(rank: Int32, position: Int32, merged: Int32) {
        key = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: position))
        self.merged = merged
    }

    // Candidates with one key are the same pair at the same place: which of them comes first does not matter.
    static func < (a: Self, b: Self) -> Bool { a.key < b.key }
    static func == (a: Self, b: Self) -> Bool { a.key == b.key }
}

/// Thread-safe memo of merged words. Short words (nearly all of them) are keyed by their bytes
/// packed into two integers so a lookup allocates nothing; the table is split into shards, each
/// with its own lock, so threads encoding at once rarely wait on each other. Like Hugging Face's
/// cache it stops growing once full rather than evicting.
final class WordCache: Sendable {
    private struct ShortKey: Hashable {
        var low: UInt64
        var high: UInt64
    }

    private final class Shard: @unchecked Sendable {
        // Guarded by `lock`; the class is only reachable through WordCache's methods.
        let lock = NSLock()
        var short: [ShortKey: [Int32]] = [:]
        var long: [[UInt8]: [Int32]] = [:]
        var count: Int { short.count + long.count }
    }

    /// Enough for the distinct words of a few hundred MB of English; about 100 bytes each.
    static let capacity = 200_000
    /// Hugging Face does not cache long pre-tokens either (they are rare and unlikely to repeat).
    static let maxLongWordBytes = 256
    private static let shardCount = 16

    private let shards: [Shard] = (0..<WordCache.shardCount).map { _ in Shard() }

    /// Packs up to 15 bytes with the length in the top byte, so distinct words never collide.
    @inline(__always)
    private static func shortKey(_ word: UnsafeBufferPointer<UInt8>) -> ShortKey? {
        guard word.count <= 15 else { return nil }
        var low: UInt64 = 0
        var high: UInt64 = UInt64(word.count) << 56
        for (index, byte) in word.enumerated() {
            if index < 8 {
                low |= UInt64(byte) << (8 * UInt64(index))
            } else {
                high |= UInt64(byte) << (8 * UInt64(index - 8))
            }
        }
        return ShortKey(low: low, high: high)
    }

    @inline(__always)
    private func shard(_ word: UnsafeBufferPointer<UInt8>) -> Shard {
        // The first and last bytes spread English words well enough across shards.
        let mixed = (Int(word.first ?? 0) &* 31 &+ Int(word.last ?? 0) &+ word.count) & (Self.shardCount - 1)
        return shards[mixed]
    }

    func lookup(_ word: UnsafeBufferPointer<UInt8>) -> [Int32]? {
        let shard = shard(word)
        if let key = Self.shortKey(word) {
            return shard.lock.withLock { shard.short[key] }
        }
        guard word.count <= Self.maxLongWordBytes else { return nil }
        let key = Array(word)
        return shard.lock.withLock { shard.long[key] }
    }

    func store(_ word: UnsafeBufferPointer<UInt8>, _ ids: [Int32]) {
        let shard = shard(word)
        let limit = Self.capacity / Self.shardCount
        if let key = Self.shortKey(word) {
            shard.lock.withLock {
                if shard.count < limit { shard.short[key] = ids }
            }
            return
        }
        guard word.count <= Self.maxLongWordBytes else { return }
        let key = Array(word)
        shard.lock.withLock {
            if shard.count < limit { shard.long[key] = ids }
        }
    }
}
