import ArgumentParser
import Foundation
import Logging

/// `--log-level`: the least severe lines a command writes to stderr.
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The progress line a long command redraws on stderr (`\r` before each draw), and ends when
/// something else is to be written, so that a log line never lands inside it.
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var drawn = false

    func draw(_ text: String) {
        lock.withLock {
            FileHandle.standardError.write(Data(("\r" + text).utf8))
            drawn = true
        }
    }

    /// Moves to a new line if a progress line is on screen.
    func end() {
        lock.withLock {
            if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
            drawn = false
        }
    }
}

/// swift-log's stderr handler, ending the command's progress line before each log line.
struct ProgressAwareLogHandler: LogHandler {
    var stream: StreamLogHandler
    let progress: ProgressLine

    /// A logger named `label` writing lines from `level` up.
    static func logger(label: String, level: Logger.Level, progress: ProgressLine) -> Logger {
        Logger(label: label) { label in
            var stream = StreamLogHandler.standardError(label: label)
            stream.logLevel = level
            return ProgressAwareLogHandler(stream: stream, progress: progress)
        }
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        progress.end()
        stream.log(event: event)
    }
}
