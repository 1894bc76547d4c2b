/// Hashes that are the same on every run and machine (Swift's `Hasher` is seeded per process), so
/// that splits, demonstration draws, delimiters and evaluation shards depend only on the seed and
/// the names involved.
public enum StableHash {
    /// FNV-1a over the UTF-8 of each part, parts separated by a 0 byte, then a SplitMix64 finalizer.
    public static func of(_ seed: UInt64, _ parts: String...) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for part in parts {
            for byte in part.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0) &* 0x0000_0100_0000_01b3
        }
        return mix(hash)
    }

    /// SplitMix64's output for the state after `value`: spreads every input bit over the output.
    public static func mix(_ value: UInt64) -> UInt64 { SplitMix64.finalize(value &+ SplitMix64.increment) }

    /// `items` in the order of their hashes (ties by the items' own order): a seeded shuffle that does
    /// not move an item when others are added or removed.
    public static func ordered<T>(_ items: [T], seed: UInt64, salt: String, key: (T) -> String) -> [T] {
        items.enumerated()
            .map { (hash: of(seed, salt, key($0.element)), index: $0.offset, item: $0.element) }
            .sorted { ($0.hash, $0.index) < ($1.hash, $1.index) }
            .map(\.item)
    }
}
