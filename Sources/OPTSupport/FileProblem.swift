import Foundation

/// Foundation's file errors in words: what the system said (the POSIX error Foundation wraps, e.g. "File exists",
/// "Not a directory") rather than "The operation could not be completed. (NSCocoaErrorDomain error 512.)".
public enum FileProblem {
    /// What went wrong, without the path.
    public static func reason(_ error: any Error) -> String {
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        let error = error as NSError
        // On Linux the wrapped error may be a Swift POSIXError rather than an NSError.
        let underlying = error.userInfo[NSUnderlyingErrorKey]
        if let posix = underlying as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        if let underlying = underlying as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if error.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(error.code))) }
        return (error.userInfo[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
    }

    /// "PATH: reason" for an error of Foundation's about a file (a `CocoaError` naming its path), nil for any other.
    public static func describe(_ error: any Error) -> String? {
        guard let cocoa = error as? CocoaError else { return nil }
        let path = (cocoa.userInfo[NSFilePathErrorKey] as? String) ?? (cocoa.userInfo[NSURLErrorKey] as? URL)?.path
        return path.map { "\($0): \(reason(error))" } ?? reason(error)
    }
}
