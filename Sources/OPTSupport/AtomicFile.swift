import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be put in place whole (what `body` throws passes through unchanged).
public struct AtomicFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Files written whole or not at all: into a temporary file beside the target, flushed to disk,
/// then renamed over it (rename(2) replaces the target in one step), so that a reader, or a run
/// killed mid-write, sees the old file or the new one and never a part.
public enum AtomicFile {
    /// Writes `data` as the whole content of `url`.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(contentsOf: data) }
    }

    /// Creates the temporary file, lets `body` write it through `handle`, and moves it into place;
    /// on any failure the temporary file is removed and the target left as it was.
    public static func write(to url: URL, _ body: (_ handle: FileHandle) throws -> Void) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        // open(2) itself: FileManager.createFile writes an empty file atomically on Linux, through a
        // temporary of its own (".dat.nosync…") that a kill at that moment would leave behind.
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw AtomicFileError(path: url.path, reason: "cannot create \(temporary.path): \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var placed = false
        defer { if !placed { try? FileManager.default.removeItem(at: temporary) } }
        do {
            defer { try? handle.close() }
            try body(handle)
            do { try handle.synchronize() } catch {
                throw AtomicFileError(path: url.path, reason: "cannot flush \(temporary.path): \(error.localizedDescription)")
            }
        }
        guard rename(temporary.path, url.path) == 0 else {
            throw AtomicFileError(path: url.path, reason: "cannot move the finished file into place: \(String(cString: strerror(errno)))")
        }
        placed = true
    }
}
