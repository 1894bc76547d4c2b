import Crypto
import Foundation

/// Content hashes the project records: lowercase hexadecimal SHA-256.
public enum ContentHash {
    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// The SHA-256 of a file's bytes, read through a memory map in slices (a checkpoint may be larger than memory).
    public static func sha256(file: URL) throws -> String {
        let data = try Data(contentsOf: file, options: .alwaysMapped)
        var hasher = SHA256()
        let slice = 1 << 24
        var start = 0
        while start < data.count {
            let end = min(start + slice, data.count)
            data[start..<end].withUnsafeBytes { hasher.update(bufferPointer: $0) }
            start = end
        }
        return hex(hasher.finalize())
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
