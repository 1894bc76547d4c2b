import CKernels

/// The instruction-set path the matrix kernels run on, chosen once at run time for this processor.
public enum KernelPath {
    /// `avx2`, `neon` or `portable`: paths sum in different orders (and int8 quantizes inputs on some),
    /// so results computed on one are not taken for another's.
    public static var current: String {
        switch Int(ck_isa()) {
        case Int(CK_ISA_AVX2): "avx2"
        case Int(CK_ISA_NEON): "neon"
        default: "portable"
        }
    }
}
