_Cilk_shared int arr[3] = {10, 20, 30};
