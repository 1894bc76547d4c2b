import Crypto
import Foundation

/// Lowercase hexadecimal SHA-256 digests.
enum SHA256Hex {
    static func of(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}
