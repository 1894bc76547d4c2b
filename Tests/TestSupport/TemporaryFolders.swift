import Foundation

/// Fresh folders for tests, all inside one folder per test process that is removed when the process exits,
/// so that runs do not pile files up under the temporary directory.
public enum TemporaryFolders {
    private static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-tests-\(ProcessInfo.processInfo.processIdentifier)")
        atexit { try? FileManager.default.removeItem(at: TemporaryFolders.root) }
        return url
    }()

    /// A new empty folder named after `prefix` and the test (`name`, usually `#function`).
    public static func make(_ prefix: String, _ name: String) throws -> URL {
        let url = root.appendingPathComponent("\(prefix)-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
